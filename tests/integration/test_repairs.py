"""Repair flow of the Ultrasonic Presence integration, through HA's repairs API."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ultrasonic_presence.const import DOMAIN

from .conftest import FakeRunner, make_state


async def _raise_issue(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, runner: FakeRunner
) -> None:
    runner.health_problem = "carrier_lost"
    runner.push_state(make_state(occupied=False))
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=61))
    runner.push_state(make_state(occupied=True))
    await hass.async_block_till_done()


async def _start_fix(client, issue_id: str) -> dict:  # type: ignore[no-untyped-def]
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert resp.status == HTTPStatus.OK
    return await resp.json()


async def test_fix_health_problem_recalibrates(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    runner: FakeRunner,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Confirming the repair asks the runner to recalibrate."""
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    await _raise_issue(hass, freezer, runner)
    issue_id = f"health_problem_{init_integration.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    client = await hass_client()
    flow = await _start_fix(client, issue_id)
    assert flow["type"] == "form"
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {
        "title": "Simulated room",
        "problem": "carrier_lost",
    }
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert resp.status == HTTPStatus.OK
    assert (await resp.json())["type"] == "create_entry"
    assert runner.recalibrations == 1


async def test_fix_flow_entry_not_loaded(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    runner: FakeRunner,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An entry unloaded while the fix flow is open cannot be recalibrated."""
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    await _raise_issue(hass, freezer, runner)
    issue_id = f"health_problem_{init_integration.entry_id}"
    client = await hass_client()
    flow = await _start_fix(client, issue_id)

    await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    result = await resp.json()
    assert result["type"] == "abort"
    assert result["reason"] == "not_loaded"
