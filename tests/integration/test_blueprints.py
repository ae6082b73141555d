"""The shipped automation blueprints load through HA's blueprint integration and work."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.ultrasonic_presence.const import DOMAIN

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "blueprints" / "automation" / DOMAIN
SENSOR = "binary_sensor.living_room_occupancy"


@pytest.fixture
def blueprint_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A config dir holding the shipped blueprints, as HACS/users install them."""
    target = tmp_path / "blueprints" / "automation" / DOMAIN
    shutil.copytree(SOURCE, target)
    hass.config.config_dir = str(tmp_path)
    return target


@pytest.mark.parametrize("name", ["motion_light.yaml", "no_motion_for.yaml"])
async def test_blueprint_metadata(hass: HomeAssistant, blueprint_dir: Path, name: str) -> None:
    """Each blueprint parses, declares its inputs and points at its own source."""
    blueprint = await async_get_blueprints(hass).async_get_blueprint(f"{DOMAIN}/{name}")
    assert blueprint.domain == automation.DOMAIN
    assert blueprint.metadata["source_url"].endswith(f"/{DOMAIN}/{name}")
    assert "occupancy_entity" in blueprint.inputs
    assert blueprint.validate() is None


async def test_motion_light(
    hass: HomeAssistant, blueprint_dir: Path, freezer: FrozenDateTimeFactory
) -> None:
    """Lights on at walk-in; off after the configured minutes without occupancy."""
    turn_on = async_mock_service(hass, "light", "turn_on")
    turn_off = async_mock_service(hass, "light", "turn_off")
    hass.states.async_set(SENSOR, STATE_OFF, {"device_class": "occupancy"})
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "use_blueprint": {
                    "path": f"{DOMAIN}/motion_light.yaml",
                    "input": {
                        "occupancy_entity": SENSOR,
                        "light_target": {"entity_id": "light.desk"},
                        "no_occupancy_minutes": 3,
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    assert len(hass.states.async_entity_ids(automation.DOMAIN)) == 1

    hass.states.async_set(SENSOR, STATE_ON, {"device_class": "occupancy"})
    await hass.async_block_till_done()
    assert len(turn_on) == 1
    assert turn_on[0].data == {"entity_id": ["light.desk"]}

    hass.states.async_set(SENSOR, STATE_OFF, {"device_class": "occupancy"})
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert not turn_off

    freezer.tick(timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(turn_off) == 1
    assert turn_off[0].data == {"entity_id": ["light.desk"]}


async def test_motion_light_occupied_again_keeps_light(
    hass: HomeAssistant, blueprint_dir: Path, freezer: FrozenDateTimeFactory
) -> None:
    """Someone back before the wait ends: the lights stay on."""
    async_mock_service(hass, "light", "turn_on")
    turn_off = async_mock_service(hass, "light", "turn_off")
    hass.states.async_set(SENSOR, STATE_ON)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "use_blueprint": {
                    "path": f"{DOMAIN}/motion_light.yaml",
                    "input": {
                        "occupancy_entity": SENSOR,
                        "light_target": {"entity_id": "light.desk"},
                    },
                }
            }
        },
    )
    hass.states.async_set(SENSOR, STATE_OFF)
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=1))
    async_fire_time_changed(hass)
    hass.states.async_set(SENSOR, STATE_ON)
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert not turn_off


async def test_no_motion_for(
    hass: HomeAssistant, blueprint_dir: Path, freezer: FrozenDateTimeFactory
) -> None:
    """The user's actions run after N minutes without motion."""
    calls = async_mock_service(hass, "notify", "notify")
    hass.states.async_set(SENSOR, STATE_ON)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "use_blueprint": {
                    "path": f"{DOMAIN}/no_motion_for.yaml",
                    "input": {
                        "occupancy_entity": SENSOR,
                        "minutes": 10,
                        "actions": [{"action": "notify.notify", "data": {"message": "All quiet"}}],
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    hass.states.async_set(SENSOR, STATE_OFF)
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=9))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert not calls
    freezer.tick(timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(calls) == 1
    assert calls[0].data == {"message": "All quiet"}


async def test_invalid_inputs_rejected(hass: HomeAssistant, blueprint_dir: Path) -> None:
    """A missing required input does not create an automation."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "use_blueprint": {
                    "path": f"{DOMAIN}/no_motion_for.yaml",
                    "input": {"occupancy_entity": SENSOR},
                }
            }
        },
    )
    await hass.async_block_till_done()
    entity_ids = hass.states.async_entity_ids(automation.DOMAIN)
    assert len(entity_ids) == 1
    assert hass.states.get(entity_ids[0]).state == "unavailable"
