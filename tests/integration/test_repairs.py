"""Repair flow of the Ultrasonic Presence integration."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ultrasonic_presence.const import DOMAIN
from custom_components.ultrasonic_presence.repairs import async_create_fix_flow

from .conftest import FakeRunner, make_state


async def test_fix_health_problem_recalibrates(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    runner: FakeRunner,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Confirming the repair asks the runner to recalibrate."""
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    runner.health_problem = "carrier_lost"
    runner.push_state(make_state(occupied=False))
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=61))
    runner.push_state(make_state(occupied=True))
    await hass.async_block_till_done()
    issue_id = f"health_problem_{init_integration.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable

    flow = await async_create_fix_flow(hass, issue_id, issue.data)
    flow.hass = hass
    result = await flow.async_step_init()
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    result = await flow.async_step_confirm({})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert runner.recalibrations == 1


async def test_fix_flow_entry_not_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An unloaded entry cannot be recalibrated."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    flow = await async_create_fix_flow(hass, "x", {"entry_id": init_integration.entry_id})
    flow.hass = hass
    result = await flow.async_step_confirm({})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"
