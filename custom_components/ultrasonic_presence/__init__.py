"""Ultrasonic Presence: a speaker and microphones as an ultrasonic Doppler occupancy sensor."""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import CONF_SOURCE, DOMAIN, LOGGER, SOURCE_NODE
from .coordinator import UltrasonicPresenceConfigEntry, UltrasonicPresenceCoordinator
from .services import async_setup_services
from .uspd.audio.factory import SourceSpec

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


async def async_migrate_entry(hass: HomeAssistant, entry: UltrasonicPresenceConfigEntry) -> bool:
    """Bring an entry from an older config flow up to version 1.2.

    1.2: a sensor node's unique id comes from its key (what the node announces as its
    id), no longer from its address; other sources keep theirs. (Entries of a newer
    major version never get here: Home Assistant refuses them itself.)
    """
    if entry.minor_version < 2:
        unique_id = entry.unique_id
        source = entry.data.get(CONF_SOURCE) or {}
        if source.get("kind") == SOURCE_NODE:
            new_id = SourceSpec.from_dict(source).unique_id()
            other = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, new_id)
            if other is None or other.entry_id == entry.entry_id:
                unique_id = new_id
            else:
                # One node set up twice (it moved, and was added again at its new
                # address): the other entry keeps the node's id, this one its old id.
                LOGGER.warning(
                    "Entries %s and %s are the same sensor node; remove the one that "
                    "no longer works",
                    other.title,
                    entry.title,
                )
        hass.config_entries.async_update_entry(entry, unique_id=unique_id, minor_version=2)
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
