"""Emission switch of the Ultrasonic Presence integration."""

from __future__ import annotations

from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_OFF, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .coordinator import UltrasonicPresenceConfigEntry
from .entity import UltrasonicPresenceEntity

PARALLEL_UPDATES = 0

EMISSION = SwitchEntityDescription(
    key="emission",
    translation_key="emission",
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UltrasonicPresenceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the emission switch."""
    async_add_entities([UltrasonicPresenceEmissionSwitch(entry.runtime_data, EMISSION)])


class UltrasonicPresenceEmissionSwitch(UltrasonicPresenceEntity, SwitchEntity, RestoreEntity):
    """Turn the ultrasonic carrier off (detection stops) and on again.

    The choice survives restarts: a switch left off is turned off again at start.
    """

    @override
    async def async_added_to_hass(self) -> None:
        """Re-apply an emission the user had turned off."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None and last.state == STATE_OFF:
            await self.coordinator.async_set_emission(False)

    @property
    @override
    def is_on(self) -> bool:
        """Return whether the emission is enabled."""
        return self.coordinator.data.emission_enabled

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Enable the emission."""
        await self.coordinator.async_set_emission(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disable the emission."""
        await self.coordinator.async_set_emission(False)
