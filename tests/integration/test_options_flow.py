"""Options flow of the Ultrasonic Presence integration."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ultrasonic_presence.uspd.runner import RunnerOptions

from .conftest import FakeRunner

pytestmark = pytest.mark.usefixtures("mock_check_hardware")


async def test_options_flow(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_runner: type[FakeRunner],
) -> None:
    """Options are prefilled, stored as RunnerOptions, and the entry reloads with them."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_runner.instances[-1].options == RunnerOptions()

    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    suggested = {
        str(key): key.description["suggested_value"] for key in result["data_schema"].schema
    }
    user_facing = {
        "sensitivity",
        "hold_time_s",
        "minor_window_s",
        "emission_pause_s",
        "max_level_dbfs",
        "band",
    }
    assert set(suggested) == {*user_facing, "quiet_after_entities", "quiet_after_s"}
    assert suggested == {
        **{k: v for k, v in RunnerOptions().to_dict().items() if k in user_facing},
        "quiet_after_entities": [],
        "quiet_after_s": 3.0,
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "sensitivity": 0.7,
            "hold_time_s": 300,
            "minor_window_s": 600,
            "emission_pause_s": 30,
            "max_level_dbfs": -12,
            "band": "high",
            "quiet_after_entities": ["fan.study"],
            "quiet_after_s": 5,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    expected = RunnerOptions(
        sensitivity=0.7,
        hold_time_s=300.0,
        minor_window_s=600.0,
        emission_pause_s=30.0,
        max_level_dbfs=-12.0,
        band="high",
    )
    assert RunnerOptions.from_dict(mock_config_entry.options) == expected
    assert mock_runner.instances[-1].options == expected
    assert len(mock_runner.instances) == 2
    assert mock_config_entry.options["quiet_after_entities"] == ["fan.study"]
    assert mock_config_entry.options["quiet_after_s"] == 5.0


async def test_switching_on_a_chosen_interferer_asks_for_quiet_time(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_runner: type[FakeRunner],
) -> None:
    """Only a start counts (off/unknown → on), only for the chosen entities; after an
    unload nothing is listened to any more."""
    hass.states.async_set("fan.study", "off")
    hass.states.async_set("fan.hall", "off")
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            **RunnerOptions().to_dict(),
            "quiet_after_entities": ["fan.study", "climate.office"],
            "quiet_after_s": 4.0,
        },
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    runner = mock_runner.instances[-1]

    hass.states.async_set("fan.study", "on")
    hass.states.async_set("fan.study", "on", {"percentage": 66})  # already running
    hass.states.async_set("fan.hall", "on")  # not chosen
    hass.states.async_set("climate.office", "heat")  # first state: a start
    hass.states.async_set("climate.office", "cool")  # running → running
    hass.states.async_set("fan.study", "off")
    await hass.async_block_till_done()
    assert runner.quiet_requests == [
        (4.0, "fan.study switched on"),
        (4.0, "climate.office switched on"),
    ]

    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    hass.states.async_set("fan.study", "on")
    await hass.async_block_till_done()
    assert len(runner.quiet_requests) == 2
