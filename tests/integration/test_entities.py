"""Entities of the Ultrasonic Presence integration: snapshots and behaviour."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from .conftest import BASE_STATE, FakeRunner, make_state

EMISSION = "switch.simulated_room_ultrasonic_emission"
RECALIBRATE = "button.simulated_room_recalibrate"
OCCUPANCY = "binary_sensor.simulated_room_occupancy"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    "platform", [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.SENSOR, Platform.SWITCH]
)
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    mock_config_entry: MockConfigEntry,
    mock_check_hardware: None,
    mock_runner: type[FakeRunner],
    platform: Platform,
) -> None:
    """Every entity, its registry entry and its state."""
    with patch("custom_components.ultrasonic_presence.PLATFORMS", [platform]):
        mock_config_entry.add_to_hass(hass)
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        mock_runner.instances[-1].push_state(BASE_STATE)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)

    devices = dr.async_entries_for_config_entry(device_registry, mock_config_entry.entry_id)
    assert devices == snapshot(name="devices")


async def test_motion_level_disabled_by_default(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, init_integration: MockConfigEntry
) -> None:
    """The motion level is a diagnostic that users enable when tuning."""
    entry = entity_registry.async_get("sensor.simulated_room_motion_level")
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_unavailable_before_first_state(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_check_hardware: None,
    mock_runner: type[FakeRunner],
) -> None:
    """Until the runner delivered a decision, state entities are unavailable."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_UNAVAILABLE
    assert hass.states.get(RECALIBRATE).state == STATE_UNKNOWN


async def test_emission_off_shows_unknown_level(hass: HomeAssistant, runner: FakeRunner) -> None:
    """With the emission off the level sensor is unknown."""
    runner.push_state(make_state(emission_enabled=False, emission_level_dbfs=None))
    await hass.async_block_till_done()
    assert hass.states.get("sensor.simulated_room_emission_level").state == STATE_UNKNOWN
    assert hass.states.get(EMISSION).state == STATE_OFF


async def test_processing_load_unknown_until_measured(
    hass: HomeAssistant, runner: FakeRunner
) -> None:
    """The load is a whole percent of one core; unknown until the runner measured it.
    (Each state here changes occupancy too, so it is written at once, not coalesced.)"""
    load = "sensor.simulated_room_processing_load"
    assert hass.states.get(load).state == "3"
    runner.push_state(make_state(occupied=False, processing_load_percent=None))
    await hass.async_block_till_done()
    assert hass.states.get(load).state == STATE_UNKNOWN
    runner.push_state(make_state(occupied=True, processing_load_percent=12.6))
    await hass.async_block_till_done()
    assert hass.states.get(load).state == "13"


async def test_emission_switch(hass: HomeAssistant, runner: FakeRunner) -> None:
    """The switch drives the runner; its state follows the runner's reports."""
    assert hass.states.get(EMISSION).state == STATE_ON
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: EMISSION}, blocking=True
    )
    assert runner.emission_enabled is False
    runner.push_state(make_state(emission_enabled=False, emission_level_dbfs=None))
    await hass.async_block_till_done()
    assert hass.states.get(EMISSION).state == STATE_OFF

    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: EMISSION}, blocking=True
    )
    assert runner.emission_enabled is True


async def test_emission_switch_restored_off(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_check_hardware: None,
    mock_runner: type[FakeRunner],
) -> None:
    """An emission turned off before a restart stays off."""
    mock_restore_cache(hass, [State(EMISSION, STATE_OFF)])
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_runner.instances[-1].emission_enabled is False


async def test_recalibrate_button(hass: HomeAssistant, runner: FakeRunner) -> None:
    """Pressing the button asks the runner to recalibrate."""
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: RECALIBRATE}, blocking=True
    )
    assert runner.recalibrations == 1
    runner.push_availability(False, "unplugged")
    await hass.async_block_till_done()
    assert hass.states.get(RECALIBRATE).state == STATE_UNAVAILABLE
