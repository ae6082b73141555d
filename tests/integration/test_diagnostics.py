"""Diagnostics of the Ultrasonic Presence integration."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from .conftest import BASE_STATE, NODE_KEY, FakeRunner


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Options, calibration, runtime, statistics, last state."""
    assert await get_diagnostics_for_config_entry(hass, hass_client, init_integration) == snapshot


async def test_diagnostics_node_key_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    node_config_entry: MockConfigEntry,
    mock_check_hardware: None,
    mock_runner: type[FakeRunner],
    entity_registry: er.EntityRegistry,
) -> None:
    """The node key never leaves Home Assistant."""
    node_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(node_config_entry.entry_id)
    await hass.async_block_till_done()
    mock_runner.instances[-1].push_state(BASE_STATE)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, node_config_entry)
    assert diagnostics["source"] == {
        "kind": "node",
        "params": {"host": "192.168.1.50", "port": 7355, "key": "**REDACTED**"},
    }
    assert NODE_KEY not in str(diagnostics)
