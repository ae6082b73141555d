"""Ultrasonic Presence: a speaker and microphones as an ultrasonic Doppler occupancy sensor."""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import UltrasonicPresenceConfigEntry, UltrasonicPresenceCoordinator
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: UltrasonicPresenceConfigEntry) -> bool:
    """Check the hardware, start the runner and add the entities."""
    coordinator = UltrasonicPresenceCoordinator(hass, entry)
    entry.async_on_unload(coordinator.async_stop)
    await coordinator.async_start()

    async def _async_on_stop(_event: Event) -> None:
        # Home Assistant does not unload entries when it stops: silence the
        # emitter and release the sound card ourselves.
        await coordinator.async_stop()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_on_stop))
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: UltrasonicPresenceConfigEntry) -> bool:
    """Unload the entities; the runner stops through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
