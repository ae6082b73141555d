"""Recalibrate button of the Ultrasonic Presence integration."""

from __future__ import annotations

from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import UltrasonicPresenceConfigEntry
from .entity import UltrasonicPresenceEntity

PARALLEL_UPDATES = 0

RECALIBRATE = ButtonEntityDescription(
    key="recalibrate",
    translation_key="recalibrate",
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UltrasonicPresenceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the recalibrate button."""
    async_add_entities([UltrasonicPresenceRecalibrateButton(entry.runtime_data, RECALIBRATE)])


class UltrasonicPresenceRecalibrateButton(UltrasonicPresenceEntity, ButtonEntity):
    """Re-run the carrier calibration (after moving the speaker or furniture)."""

    @property
    @override
    def available(self) -> bool:
        """A button needs the source, not a state."""
        return self.coordinator.last_update_success and self.coordinator.runner is not None

    @override
    async def async_press(self) -> None:
        """Request a recalibration; the runner does it in its worker thread."""
        await self.coordinator.async_recalibrate()
