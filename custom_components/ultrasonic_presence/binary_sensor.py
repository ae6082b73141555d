"""Occupancy binary sensor of the Ultrasonic Presence integration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import UltrasonicPresenceConfigEntry
from .entity import UltrasonicPresenceEntity
from .uspd.runner import SensorState

# The coordinator pushes every update; entities never poll.
PARALLEL_UPDATES = 0


@dataclass(kw_only=True, frozen=True)
class UltrasonicPresenceBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes an Ultrasonic Presence binary sensor."""

    is_on_fn: Callable[[SensorState], bool]
    attributes_fn: Callable[[SensorState], dict[str, Any]]


BINARY_SENSORS: tuple[UltrasonicPresenceBinarySensorEntityDescription, ...] = (
    UltrasonicPresenceBinarySensorEntityDescription(
        key="occupancy",
        translation_key="occupancy",
        device_class=BinarySensorDeviceClass.OCCUPANCY,
        is_on_fn=lambda state: state.occupied,
        # Why the room is in its current state (steady between changes). The frame's
        # reason and the motion class change every second or so: the diagnostics and
        # the Motion class sensor carry those.
        attributes_fn=lambda state: {"reason": state.occupancy_reason},
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UltrasonicPresenceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the occupancy sensor."""
    async_add_entities(
        UltrasonicPresenceBinarySensor(entry.runtime_data, description)
        for description in BINARY_SENSORS
    )


class UltrasonicPresenceBinarySensor(UltrasonicPresenceEntity, BinarySensorEntity):
    """Occupancy as decided by the engine."""

    entity_description: UltrasonicPresenceBinarySensorEntityDescription

    @property
    @override
    def is_on(self) -> bool:
        """Return whether the room is occupied."""
        return self.entity_description.is_on_fn(self.coordinator.data)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return why the room is in its current state."""
        return self.entity_description.attributes_fn(self.coordinator.data)
