"""Setup, unload, availability and rate limiting of the Ultrasonic Presence integration."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from unittest.mock import MagicMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    EVENT_HOMEASSISTANT_STOP,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ultrasonic_presence.const import CONF_CALIBRATION, CONF_SOURCE, DOMAIN
from custom_components.ultrasonic_presence.uspd.audio.factory import SourceSpec
from custom_components.ultrasonic_presence.uspd.audio.source import SourceError
from custom_components.ultrasonic_presence.uspd.dsp.calibration import CalibrationResult

from .conftest import (
    CALIBRATION,
    CALIBRATION_DATA,
    NODE_KEY,
    NODE_SPEC,
    SIM_SPEC,
    FakeRunner,
    make_state,
)

OCCUPANCY = "binary_sensor.simulated_room_occupancy"
SNR = "sensor.simulated_room_signal_to_noise_ratio"


async def test_setup_and_unload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_runner: type[FakeRunner],
) -> None:
    """The runner runs while loaded; unloading stops it and leaves no thread behind."""
    runner = mock_runner.instances[-1]
    assert init_integration.state is ConfigEntryState.LOADED
    assert runner.spec.unique_id() == init_integration.unique_id
    assert runner.calibration == CALIBRATION
    assert hass.states.get(OCCUPANCY).state == STATE_ON
    assert any(t.name == "fake-uspd" for t in threading.enumerate())

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    assert not any(t.name == "fake-uspd" for t in threading.enumerate())
    assert hass.states.get(OCCUPANCY).state == STATE_UNAVAILABLE

    # A late callback from a dying worker is dropped, not applied.
    runner.on_state(make_state(occupied=False))
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_UNAVAILABLE


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("device_not_found", ConfigEntryState.SETUP_RETRY),
        ("disconnected", ConfigEntryState.SETUP_RETRY),
        ("auth_failed", ConfigEntryState.SETUP_ERROR),
    ],
)
async def test_setup_hardware_missing(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_check_hardware: MagicMock,
    mock_runner: type[FakeRunner],
    code: str,
    state: ConfigEntryState,
) -> None:
    """Missing hardware retries later; a refused node key starts reauthentication."""
    mock_check_hardware.side_effect = SourceError("no such card", code)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is state
    assert not mock_runner.instances
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    if code == "auth_failed":
        assert flows[0]["context"]["source"] == SOURCE_REAUTH
    else:
        assert not flows
        assert "no such card" in (mock_config_entry.reason or "")


async def test_unavailable_and_recovery(
    hass: HomeAssistant,
    runner: FakeRunner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Source failure → unavailable (logged once) → back by itself (logged once)."""
    caplog.set_level(logging.INFO)
    runner.push_availability(False, "sound card unplugged")
    runner.push_availability(False, "sound card unplugged")
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_UNAVAILABLE
    assert hass.states.get(SNR).state == STATE_UNAVAILABLE
    assert caplog.text.count("is unavailable: sound card unplugged") == 1

    # States are ignored by nobody: the first one after a failure makes it available.
    runner.push_availability(True)
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_ON
    assert caplog.text.count("is available again") == 1

    runner.push_availability(True)
    runner.push_availability(False, None)
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_UNAVAILABLE
    assert "is unavailable: unknown error" in caplog.text
    runner.push_state(make_state(occupied=False))
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_OFF
    assert caplog.text.count("is available again") == 2


async def test_rate_limit(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    runner: FakeRunner,
) -> None:
    """Occupancy changes are written at once; other updates at most once a second."""
    runner.push_state(make_state(snr_db=20.0))
    await hass.async_block_till_done()
    assert hass.states.get(SNR).state == "28"

    runner.push_state(make_state(snr_db=21.0))
    await hass.async_block_till_done()
    assert hass.states.get(SNR).state == "28"

    freezer.tick(timedelta(seconds=1.5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(SNR).state == "21"

    # Occupancy change: immediate, and it carries the newest numbers along.
    runner.push_state(make_state(snr_db=22.0))
    runner.push_state(make_state(occupied=False, motion_class="none", snr_db=23.0))
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_OFF
    assert hass.states.get(SNR).state == "23"

    # Nothing pending any more: the timer does not write an old state.
    freezer.tick(timedelta(seconds=1.5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(SNR).state == "23"


async def test_health_issue(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    runner: FakeRunner,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """A persisting health problem raises a repair issue that clears when fixed."""
    issue_id = f"health_problem_{init_integration.entry_id}"

    async def report(occupied: bool, seconds: float = 0.0) -> None:
        freezer.tick(timedelta(seconds=seconds))
        runner.push_state(make_state(occupied=occupied))
        await hass.async_block_till_done()

    runner.health_problem = "carrier 11 dB weaker than at calibration"
    await report(False)
    runner.health_problem = "carrier SNR dropped below 6 dB"  # same problem, new numbers
    await report(True, 30)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None  # not yet: transient?
    await report(False, 31)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "health_problem"
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "title": "Simulated room",
        "problem": "carrier SNR dropped below 6 dB",
    }

    runner.health_problem = None
    await report(True, 1)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    # A known problem code gets its own text; unloading clears the issue.
    runner.health_problem = "carrier_lost"
    await report(False, 1)
    await report(True, 61)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "carrier_lost"
    await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_recalibration_is_stored(
    hass: HomeAssistant,
    runner: FakeRunner,
    init_integration: MockConfigEntry,
) -> None:
    """A finished recalibration lands in the entry data (no reload)."""
    new = CalibrationResult.from_dict(
        {**CALIBRATION_DATA, "carrier_hz": 27000.0, "level_dbfs": -24.0, "warnings": []}
    )
    runner.push_calibration(new)
    await hass.async_block_till_done()
    assert init_integration.data[CONF_CALIBRATION] == new.to_dict()
    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.runtime_data.runner is runner


async def test_late_callbacks_after_stop(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    runner: FakeRunner,
    init_integration: MockConfigEntry,
) -> None:
    """Work queued on the loop before the runner stopped is dropped after it."""
    coordinator = init_integration.runtime_data
    runner.push_state(make_state(snr_db=20.0))  # coalesced: a flush is pending
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()

    coordinator.async_handle_state(make_state(occupied=False))
    coordinator.async_handle_availability(False, "gone")
    coordinator.async_handle_calibration(CALIBRATION)
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert coordinator.data.occupied is True
    assert coordinator.last_update_success is True


async def test_callback_while_loop_closes(
    hass: HomeAssistant, runner: FakeRunner, init_integration: MockConfigEntry
) -> None:
    """A worker callback racing a closing loop is dropped quietly."""
    with patch.object(hass.loop, "call_soon_threadsafe", side_effect=RuntimeError("closed")):
        runner.push_state(make_state(occupied=False))
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_ON


async def test_home_assistant_stop_stops_runner(
    hass: HomeAssistant, runner: FakeRunner, init_integration: MockConfigEntry
) -> None:
    """Stopping Home Assistant silences the emitter even though entries stay loaded."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not any(t.name == "fake-uspd" for t in threading.enumerate())
    # The later unload does not stop twice.
    assert await hass.config_entries.async_unload(init_integration.entry_id)


@pytest.mark.usefixtures("mock_available_kinds", "mock_run_calibration", "mock_list_devices")
async def test_reconfigure_keeps_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_runner: type[FakeRunner],
    entity_registry: er.EntityRegistry,
) -> None:
    """Moving the entry to another device keeps its entities (and their history)."""
    before = {
        e.entity_id
        for e in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    }
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"source": "soundcard"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"input_device": "hw:2,0", "output_device": "hw:2,0", "sample_rate": "96000"},
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    runner = mock_runner.instances[-1]
    assert runner.spec.kind == "soundcard"
    assert init_integration.unique_id == runner.spec.unique_id()
    after = {
        e.entity_id
        for e in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    }
    assert after == before
    runner.push_state(make_state(occupied=False))
    await hass.async_block_till_done()
    assert hass.states.get(OCCUPANCY).state == STATE_OFF


async def test_long_unavailability_raises_issue(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    runner: FakeRunner,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """Five minutes without audio → a repair issue; it goes when the source is back."""
    issue_id = f"source_unavailable_{init_integration.entry_id}"
    runner.push_availability(False, "sound card unplugged")
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=200))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    freezer.tick(timedelta(seconds=101))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "source_unavailable"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "title": "Simulated room",
        "reason": "sound card unplugged",
    }

    runner.push_state(make_state(occupied=False))
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    # A short outage ending by itself leaves no issue and no timer behind.
    runner.push_availability(False, "glitch")
    runner.push_availability(True)
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=400))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    # Unloading while unavailable cancels the pending issue.
    runner.push_availability(False, "gone")
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(init_integration.entry_id)


@pytest.mark.usefixtures("mock_available_kinds", "mock_run_calibration", "mock_list_devices")
async def test_reconfigure_releases_the_device_while_probing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_check_hardware: MagicMock,
    mock_runner: type[FakeRunner],
) -> None:
    """A sound card in use cannot be probed: the sensor stops, and restarts if abandoned."""
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"source": "soundcard"}
    )
    mock_check_hardware.side_effect = SourceError("busy", "device_not_found")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"input_device": "hw:2,0", "output_device": "hw:2,0", "sample_rate": "96000"},
    )
    assert result["errors"] == {"base": "device_not_found"}
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    assert not any(t.name == "fake-uspd" for t in threading.enumerate())

    # The user gives up: the sensor runs again as before.
    mock_check_hardware.side_effect = None
    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert mock_runner.instances[-1].spec.kind == "simulated"


async def test_key_refused_while_running_starts_reauth(
    hass: HomeAssistant,
    node_config_entry: MockConfigEntry,
    mock_check_hardware: MagicMock,
    mock_runner: type[FakeRunner],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The node refusing the key mid-run asks for the new key (once per outage)."""
    node_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(node_config_entry.entry_id)
    await hass.async_block_till_done()
    runner = mock_runner.instances[-1]
    coordinator = node_config_entry.runtime_data

    # Other outages do not ask for a key.
    runner.push_availability(False, "link lost", "disconnected")
    await hass.async_block_till_done()
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert coordinator.unavailable_code == "disconnected"
    runner.push_availability(True)
    await hass.async_block_till_done()
    assert coordinator.unavailable_code is None

    runner.push_availability(False, "sensor node rejected the key", "auth_failed")
    runner.push_availability(False, "sensor node rejected the key", "auth_failed")
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    assert flows[0]["context"]["entry_id"] == node_config_entry.entry_id
    assert caplog.text.count("refused the key") == 1
    assert coordinator.unavailable_code == "auth_failed"
    assert node_config_entry.state is ConfigEntryState.LOADED

    # The user fixes the node instead; a later refusal asks again.
    hass.config_entries.flow.async_abort(flows[0]["flow_id"])
    runner.push_availability(True)
    await hass.async_block_till_done()
    runner.push_availability(False, "sensor node rejected the key", "auth_failed")
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    assert caplog.text.count("refused the key") == 2


async def test_key_refused_later_in_an_outage_starts_reauth(
    hass: HomeAssistant,
    node_config_entry: MockConfigEntry,
    mock_check_hardware: MagicMock,
    mock_runner: type[FakeRunner],
) -> None:
    """An outage that starts as a lost link and turns into a refused key is noticed:
    the runner reports the changed cause, the coordinator asks for the new key once."""
    node_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(node_config_entry.entry_id)
    await hass.async_block_till_done()
    runner = mock_runner.instances[-1]
    coordinator = node_config_entry.runtime_data

    runner.push_availability(False, "link lost", "disconnected")
    await hass.async_block_till_done()
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert coordinator.unavailable_code == "disconnected"

    runner.push_availability(False, "sensor node rejected the key", "auth_failed")
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert coordinator.unavailable_code == "auth_failed"
    runner.push_availability(False, "sensor node rejected the key", "auth_failed")
    await hass.async_block_till_done()
    assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 1

    runner.push_availability(True)
    await hass.async_block_till_done()
    assert coordinator.unavailable_code is None


def _entry_1_1(spec: SourceSpec, unique_id: str) -> MockConfigEntry:
    """An entry as version 1.1 of the config flow stored it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Sensor {spec.kind}",
        unique_id=unique_id,
        data={CONF_SOURCE: spec.to_dict(), CONF_CALIBRATION: CALIBRATION.to_dict()},
        version=1,
        minor_version=1,
    )


@pytest.mark.parametrize(
    ("spec", "old_id", "new_id"),
    [
        # 1.1 named a node by host:port; 1.2 by the id derived from its key.
        (NODE_SPEC, "node-41114bb673c6", "node-1737e6daeaf9b45b"),
        (SIM_SPEC, SIM_SPEC.unique_id(), SIM_SPEC.unique_id()),
        (
            SourceSpec(
                kind="soundcard",
                params={"input_device": "hw:1,0", "output_device": "hw:1,0", "sample_rate": 96000},
            ),
            "soundcard-b9570585dc67",
            "soundcard-b9570585dc67",
        ),
    ],
    ids=["node", "simulated", "soundcard"],
)
@pytest.mark.usefixtures("mock_check_hardware", "mock_runner")
async def test_migrate_1_1(hass: HomeAssistant, spec: SourceSpec, old_id: str, new_id: str) -> None:
    """Migration to 1.2 gives node entries their key-derived id, others keep theirs."""
    entry = _entry_1_1(spec, old_id)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 2)
    assert entry.unique_id == new_id
    assert entry.data[CONF_SOURCE] == spec.to_dict()
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mock_check_hardware", "mock_runner")
async def test_migrate_1_1_node_set_up_twice(
    hass: HomeAssistant, node_config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A node added again after it moved: the second entry cannot take the node's id
    too, keeps its old one, and the log says which entries are the same node."""
    node_config_entry.add_to_hass(hass)
    stale = SourceSpec(kind="node", params={"host": "192.168.1.9", "port": 7355, "key": NODE_KEY})
    entry = _entry_1_1(stale, "node-0123456789ab")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.minor_version == 2
    assert entry.unique_id == "node-0123456789ab"
    assert node_config_entry.unique_id == NODE_SPEC.unique_id()
    assert "are the same sensor node" in caplog.text
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_migrate_from_a_newer_version(hass: HomeAssistant) -> None:
    """An entry written by a newer integration (after a downgrade) is not set up."""
    entry = _entry_1_1(NODE_SPEC, NODE_SPEC.unique_id())
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, version=2)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
