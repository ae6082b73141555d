"""A real sensor node on loopback, end to end through the config flow and the entry.

`uspd.node.server.NodeServer` runs in this process on 127.0.0.1 with a simulated room
as its sound card (as tests/engine/test_node_link.py does): the flow's hardware check,
the calibration (which runs on the node) and the entry's runner all talk the real
Noise_NNpsk0 link to it. The runner is stepped (`realtime=False`, `run_for`), so the
tests are deterministic and never sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_address

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, SOURCE_ZEROCONF
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from custom_components.ultrasonic_presence.const import CONF_SOURCE, DOMAIN
from custom_components.ultrasonic_presence.uspd import __version__
from custom_components.ultrasonic_presence.uspd.audio.factory import (
    SourceSpec,
    available_kinds,
    open_source,
)
from custom_components.ultrasonic_presence.uspd.audio.source import SourceError
from custom_components.ultrasonic_presence.uspd.node.announce import (
    SERVICE_TYPE,
    service_properties,
)
from custom_components.ultrasonic_presence.uspd.node.keys import generate_key, node_id
from custom_components.ultrasonic_presence.uspd.node.server import NodeServer

from .conftest import SteppedRunner, complete_calibration

pytestmark = [
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.skipif("node" not in available_kinds(), reason="noiseprotocol missing"),
]

# The node's "sound card": someone walks past 1 s into the stream (every session,
# including each flow check and the calibration, opens it afresh).
ROOM = SourceSpec(
    kind="simulated",
    params={"scenario": "walk_past", "seed": 3, "sample_rate": 96000, "mics": 4},
)
STEP_S = 0.1


def _start_node(key: str, port: int = 0) -> NodeServer:
    server = NodeServer(lambda: open_source(ROOM), key, host="127.0.0.1", port=port)
    server.start()
    return server


@pytest.fixture
def node_key() -> str:
    """The key the node was started with."""
    return generate_key()


@pytest.fixture
def node(node_key: str) -> Iterator[NodeServer]:
    """A node listening on loopback (stopped, threads joined, after the test)."""
    server = _start_node(node_key)
    yield server
    server.stop()


def _announcement(port: int, key: str) -> ZeroconfServiceInfo:
    """What Home Assistant's zeroconf hands the flow for a node on loopback at `port`."""
    return ZeroconfServiceInfo(
        ip_address=ip_address("127.0.0.1"),
        ip_addresses=[ip_address("127.0.0.1")],
        hostname="node.local.",
        name=f"uspd-node.{SERVICE_TYPE}",
        port=port,
        type=SERVICE_TYPE,
        properties=service_properties("Kitchen", 96000, 4, __version__, node_id=node_id(key)),
    )


async def _step(hass: HomeAssistant, runner: SteppedRunner, seconds: float) -> None:
    await hass.async_add_executor_job(runner.run_for, seconds)
    await hass.async_block_till_done()


async def _run_until(
    hass: HomeAssistant, runner: SteppedRunner, entity_id: str, state: str, seconds: float
) -> float:
    """Step the stream until the entity has `state`; return the stream time it took."""
    t = 0.0
    while t < seconds:
        await _step(hass, runner, STEP_S)
        t += STEP_S
        if hass.states.get(entity_id).state == state:
            return t
    pytest.fail(f"{entity_id} not {state} within {seconds} s: {hass.states.get(entity_id)}")


async def test_node_flow_and_occupancy(
    hass: HomeAssistant, node: NodeServer, node_key: str, stepped_runner: type[SteppedRunner]
) -> None:
    """Wrong key → invalid_auth; right key → calibration on the node → an entry whose
    occupancy follows the person walking past the node's microphones."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"source": "node"})
    assert result["step_id"] == "node"
    node_input = {"host": "127.0.0.1", "port": node.port}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**node_input, "key": generate_key()}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert node.stats.auth_failures == 1

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**node_input, "key": node_key}
    )
    result = await complete_calibration(hass, result)
    entry = result["result"]
    assert entry.title == "Sensor node 127.0.0.1"
    assert entry.unique_id == f"node-{node_id(node_key)}"
    assert entry.data[CONF_SOURCE] == {"kind": "node", "params": {**node_input, "key": node_key}}
    # The hardware check, the calibration and the entry's own check each had a session.
    assert node.stats.sessions == 3

    runner = stepped_runner.instances[-1]
    entity_id = "binary_sensor.sensor_node_127_0_0_1_occupancy"
    await _step(hass, runner, 0.5)
    assert hass.states.get(entity_id).state == STATE_OFF
    detected = await _run_until(hass, runner, entity_id, STATE_ON, 3.0)
    assert detected <= 0.5 + 2.5  # the person enters 1 s into the stream
    assert node.stats.sessions == 4
    snr = hass.states.get("sensor.sensor_node_127_0_0_1_signal_to_noise_ratio")
    assert float(snr.state) > 10.0

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_zeroconf_discovery_of_a_real_node(
    hass: HomeAssistant, node: NodeServer, node_key: str, stepped_runner: type[SteppedRunner]
) -> None:
    """The node's announcement (its real TXT properties) → confirm with the key → entry;
    the node comes back on another port → announced there → the entry follows it."""
    info = _announcement(node.port, node_key)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {
        "name": "Kitchen",
        "host": f"127.0.0.1:{node.port}",
    }

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"key": "x"})
    assert result["errors"] == {"key": "invalid_key"}
    assert node.stats.sessions == node.stats.auth_failures == 0  # never connected

    # Another node's key: not the announced node id, so not tried on the node either.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"key": generate_key()}
    )
    assert result["errors"] == {"key": "wrong_node_key"}
    assert node.stats.sessions == node.stats.auth_failures == 0

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"key": node_key})
    result = await complete_calibration(hass, result)
    entry = result["result"]
    assert entry.title == "Sensor node Kitchen"
    spec = SourceSpec("node", {"host": "127.0.0.1", "port": node.port, "key": node_key})
    assert entry.unique_id == spec.unique_id()

    runner = stepped_runner.instances[-1]
    await _step(hass, runner, 0.5)
    assert hass.states.get("binary_sensor.sensor_node_kitchen_occupancy").state == STATE_OFF

    # Announced again (a restart of the node): already set up.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    # The node restarts on another port (as after a move to another address).
    node.stop()
    moved = _start_node(node_key)
    try:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_announcement(moved.port, node_key)
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
        await hass.async_block_till_done()
        assert entry.data[CONF_SOURCE]["params"]["port"] == moved.port
        assert entry.unique_id == spec.unique_id()
        assert len(hass.config_entries.async_entries(DOMAIN)) == 1
        runner = stepped_runner.instances[-1]  # the reloaded entry's
        await _step(hass, runner, 0.5)
        assert hass.states.get("binary_sensor.sensor_node_kitchen_occupancy").state == STATE_OFF
        assert moved.stats.sessions >= 1
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        moved.stop()


async def test_node_key_changes_while_running(
    hass: HomeAssistant, node: NodeServer, node_key: str, stepped_runner: type[SteppedRunner]
) -> None:
    """The node comes back with a new key: unavailable → reauth → reloaded, working."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"source": "node"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": node.port, "key": node_key}
    )
    entry = (await complete_calibration(hass, result))["result"]
    entity_id = "binary_sensor.sensor_node_127_0_0_1_occupancy"

    # Between the entry's check and its first read the node restarts with a new key.
    port = node.port
    node.stop()
    new_key = generate_key()
    replacement = _start_node(new_key, port)
    try:
        runner = stepped_runner.instances[-1]
        with pytest.raises(SourceError) as err:
            await hass.async_add_executor_job(runner.run_for, STEP_S)
        assert err.value.code == "auth_failed"
        await hass.async_block_till_done()
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]

        # The user pastes the old key first, then the new one.
        flow_id = flows[0]["flow_id"]
        result = await hass.config_entries.flow.async_configure(flow_id, {"key": node_key})
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(flow_id, {"key": new_key})
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_SOURCE]["params"]["key"] == new_key

        runner = stepped_runner.instances[-1]
        await _step(hass, runner, 0.5)
        assert hass.states.get(entity_id).state == STATE_OFF
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        replacement.stop()


async def test_node_restarts_with_a_new_key_during_an_outage(
    hass: HomeAssistant,
    node: NodeServer,
    node_key: str,
    stepped_runner: type[SteppedRunner],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The usual way a key changes: the link drops (outage: disconnected), and the
    restarted node refuses the old key on the runner's retries → reauth."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"source": "node"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": node.port, "key": node_key}
    )
    entry = (await complete_calibration(hass, result))["result"]
    entity_id = "binary_sensor.sensor_node_127_0_0_1_occupancy"
    runner = stepped_runner.instances[-1]
    await _step(hass, runner, 0.5)
    assert hass.states.get(entity_id).state == STATE_OFF

    port = node.port
    node.stop()
    with pytest.raises(SourceError) as err:
        await hass.async_add_executor_job(runner.run_for, STEP_S)
    assert err.value.code == "disconnected"
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)

    new_key = generate_key()
    replacement = _start_node(new_key, port)
    try:
        # The runner's next retry is refused: it reports the new cause, reauth starts.
        with pytest.raises(SourceError) as err:
            await hass.async_add_executor_job(runner.run_for, STEP_S)
        assert err.value.code == "auth_failed"
        await hass.async_block_till_done()
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]

        result = await hass.config_entries.flow.async_configure(
            flows[0]["flow_id"], {"key": new_key}
        )
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
        await _step(hass, stepped_runner.instances[-1], 0.5)
        assert hass.states.get(entity_id).state == STATE_OFF
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        replacement.stop()
