"""Base entity of the Ultrasonic Presence integration."""

from __future__ import annotations

from typing import override

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, SOURCE_NODE, SOURCE_SIMULATED
from .coordinator import UltrasonicPresenceCoordinator

MODELS = {
    SOURCE_SIMULATED: "Simulated room",
    SOURCE_NODE: "Sensor node",
}


class UltrasonicPresenceEntity(CoordinatorEntity[UltrasonicPresenceCoordinator]):
    """An entity of the one device a config entry (one sensor) has."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: UltrasonicPresenceCoordinator,
        description: EntityDescription,
    ) -> None:
        """Set the description, unique id and device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.device_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, coordinator.device_id)},
            name=coordinator.config_entry.title,
            manufacturer="Ultrasonic Presence",
            model=MODELS.get(coordinator.spec.kind, "Sound card"),
            model_id=coordinator.spec.kind,
        )

    @property
    @override
    def available(self) -> bool:
        """Available while the source delivers and a first state has arrived."""
        return super().available and self.coordinator.data is not None
