"""Config, options, reconfigure and reauth flows of the Ultrasonic Presence integration."""

from __future__ import annotations

import threading
from ipaddress import ip_address
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch

import pytest
from homeassistant.config_entries import SOURCE_USER, SOURCE_ZEROCONF, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.loader import async_get_zeroconf
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ultrasonic_presence.const import (
    CONF_CALIBRATION,
    CONF_SOURCE,
    DOMAIN,
    SIMULATED_PARAMS,
)
from custom_components.ultrasonic_presence.uspd.audio.factory import SourceSpec
from custom_components.ultrasonic_presence.uspd.audio.source import SourceError
from custom_components.ultrasonic_presence.uspd.dsp.calibration import CalibrationError
from custom_components.ultrasonic_presence.uspd.node.keys import node_id
from custom_components.ultrasonic_presence.uspd.runner import RunnerOptions

from .conftest import CALIBRATION, NEW_NODE_KEY, NODE_KEY, NODE_SPEC, SIM_SPEC

pytestmark = pytest.mark.usefixtures(
    "mock_setup_entry",
    "mock_available_kinds",
    "mock_check_hardware",
    "mock_run_calibration",
    "mock_list_devices",
)

SOUNDCARD_INPUT = {"input_device": "hw:1,0", "output_device": "hw:1,0", "sample_rate": "192000"}
SOUNDCARD_SPEC = SourceSpec(
    kind="soundcard",
    params={"input_device": "hw:1,0", "output_device": "hw:1,0", "sample_rate": 192000},
)
NODE_INPUT = {"host": " 192.168.1.60 ", "port": 7355, "key": f" {NODE_KEY}\n"}
NODE_NEW_SPEC = SourceSpec(
    kind="node", params={"host": "192.168.1.60", "port": 7355, "key": NODE_KEY}
)
ZEROCONF_INFO = ZeroconfServiceInfo(
    ip_address=ip_address("192.168.1.70"),
    ip_addresses=[ip_address("192.168.1.70")],
    hostname="kitchen.local.",
    name="kitchen (2)._uspd._tcp.local.",
    port=7355,
    type="_uspd._tcp.local.",
    properties={
        "name": "Kitchen",
        "version": "0.1.0",
        "protocol": "1",
        "sample_rate": "96000",
        "mics": "4",
    },
)


def _announcement(
    host: str, port: int = 7355, *, also: tuple[str, ...] = (), **properties: str
) -> ZeroconfServiceInfo:
    """A node's announcement at host:port (and the addresses `also`), its TXT record
    ZEROCONF_INFO's plus `properties`."""
    return ZeroconfServiceInfo(
        ip_address=ip_address(host),
        ip_addresses=[ip_address(address) for address in (host, *also)],
        hostname="kitchen.local.",
        name="kitchen._uspd._tcp.local.",
        port=port,
        type="_uspd._tcp.local.",
        properties={**ZEROCONF_INFO.properties, **properties},
    )


async def _finish_calibration(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    """From the progress step to the calibration result form."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "calibrate"
    assert result["progress_action"] == "calibrate"
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def _to_calibration_result(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    result = await _finish_calibration(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "calibration_result"
    assert result["description_placeholders"] == {
        "carrier": "31.2",
        "level": "-18",
        "snr": "27.5",
        "warnings": "- Speaker response falls off above 35 kHz",
    }
    return await hass.config_entries.flow.async_configure(result["flow_id"], {})


async def _start(hass: HomeAssistant, source: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"source": source})


async def test_user_simulated(
    hass: HomeAssistant,
    mock_setup_entry: AsyncMock,
    mock_check_hardware: MagicMock,
    mock_run_calibration: MagicMock,
) -> None:
    """The demo room: no details to enter, straight to the calibration."""
    result = await _start(hass, "simulated")
    result = await _to_calibration_result(hass, result)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Simulated room"
    assert result["data"] == {
        CONF_SOURCE: {"kind": "simulated", "params": SIMULATED_PARAMS},
        CONF_CALIBRATION: CALIBRATION.to_dict(),
    }
    assert result["options"] == RunnerOptions().to_dict()
    assert result["result"].unique_id == SIM_SPEC.unique_id()
    mock_check_hardware.assert_called_once_with(SIM_SPEC)
    mock_run_calibration.assert_called_once_with(SIM_SPEC, RunnerOptions())
    assert len(mock_setup_entry.mock_calls) == 1


async def test_user_soundcard(hass: HomeAssistant, mock_check_hardware: MagicMock) -> None:
    """A sound card: devices and sample rate."""
    result = await _start(hass, "soundcard")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "soundcard"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOUNDCARD_INPUT)
    result = await _to_calibration_result(hass, result)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Sound card hw:1,0"
    assert result["data"][CONF_SOURCE] == SOUNDCARD_SPEC.to_dict()
    assert result["result"].unique_id == SOUNDCARD_SPEC.unique_id()
    mock_check_hardware.assert_called_once_with(SOUNDCARD_SPEC)


async def test_user_node(hass: HomeAssistant) -> None:
    """A sensor node by host, port and key."""
    result = await _start(hass, "node")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "node"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], NODE_INPUT)
    result = await _to_calibration_result(hass, result)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Sensor node 192.168.1.60"
    assert result["data"][CONF_SOURCE] == NODE_NEW_SPEC.to_dict()


async def test_only_available_kinds_offered(
    hass: HomeAssistant, mock_available_kinds: MagicMock
) -> None:
    """Kinds the engine build cannot open are not offered."""
    mock_available_kinds.return_value = ("simulated",)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    selector = result["data_schema"].schema["source"]
    assert selector.config["options"] == ["simulated"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SourceError("no card hw:1", "device_not_found"), "device_not_found"),
        (SourceError("48 kHz only", "sample_rate_too_low"), "sample_rate_too_low"),
        (SourceError("silence", "no_ultrasonic_response"), "no_ultrasonic_response"),
        (SourceError("gone", "disconnected"), "cannot_connect"),
        (SourceError("garbage", "corrupt"), "corrupt"),
        (RuntimeError("boom"), "unknown"),
    ],
)
async def test_soundcard_check_errors(
    hass: HomeAssistant,
    mock_check_hardware: MagicMock,
    error: Exception,
    expected: str,
) -> None:
    """A failing hardware check re-shows the form with the error; fixing it recovers."""
    result = await _start(hass, "soundcard")
    mock_check_hardware.side_effect = error
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOUNDCARD_INPUT)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "soundcard"
    assert result["errors"] == {"base": expected}

    mock_check_hardware.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOUNDCARD_INPUT)
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_node_auth_error(hass: HomeAssistant, mock_check_hardware: MagicMock) -> None:
    """A refused key is reported on the node form."""
    result = await _start(hass, "node")
    mock_check_hardware.side_effect = SourceError("bad key", "auth_failed")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], NODE_INPUT)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "node"
    assert result["errors"] == {"base": "invalid_auth"}

    mock_check_hardware.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], NODE_INPUT)
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_simulated_check_error(hass: HomeAssistant, mock_check_hardware: MagicMock) -> None:
    """An error with the demo room is shown on the first form."""
    mock_check_hardware.side_effect = SourceError("scenario missing", "device_not_found")
    result = await _start(hass, "simulated")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "device_not_found"}

    mock_check_hardware.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"source": "simulated"}
    )
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (CalibrationError("nothing heard", "no_ultrasonic_response"), "no_ultrasonic_response"),
        (SourceError("unplugged", "disconnected"), "cannot_connect"),
        (ValueError("bug"), "unknown"),
    ],
)
async def test_calibration_errors(
    hass: HomeAssistant,
    mock_run_calibration: MagicMock,
    error: Exception,
    expected: str,
) -> None:
    """A failed calibration returns to the source form with the error; retry works."""
    result = await _start(hass, "soundcard")
    mock_run_calibration.side_effect = error
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOUNDCARD_INPUT)
    result = await _finish_calibration(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "soundcard"
    assert result["errors"] == {"base": expected}

    mock_run_calibration.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOUNDCARD_INPUT)
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_calibration_error_without_code(
    hass: HomeAssistant, mock_run_calibration: MagicMock
) -> None:
    """A calibration error without a known code is a generic calibration failure."""
    error = CalibrationError("odd")
    error.code = "something_new"
    mock_run_calibration.side_effect = error
    result = await _start(hass, "simulated")
    result = await _finish_calibration(hass, result)
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "calibration_failed"}


async def test_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_check_hardware: MagicMock
) -> None:
    """The same sensor cannot be added twice (checked before touching the hardware)."""
    mock_config_entry.add_to_hass(hass)
    result = await _start(hass, "simulated")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    mock_check_hardware.assert_not_called()


async def test_zeroconf(hass: HomeAssistant, mock_check_hardware: MagicMock) -> None:
    """A discovered node asks for its key, then calibrates."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=ZEROCONF_INFO
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {"name": "Kitchen", "host": "192.168.1.70:7355"}
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    assert flow["context"]["title_placeholders"] == {"name": "Kitchen"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"key": "secret"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"key": "invalid_key"}
    mock_check_hardware.assert_not_called()

    mock_check_hardware.side_effect = SourceError("bad key", "auth_failed")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"key": NEW_NODE_KEY}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    mock_check_hardware.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"key": NODE_KEY})
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Sensor node Kitchen"
    assert result["data"][CONF_SOURCE] == {
        "kind": "node",
        "params": {"host": "192.168.1.70", "port": 7355, "key": NODE_KEY},
    }
    # Announced without an id (an older node), set up under the key's id all the same.
    assert result["result"].unique_id == f"node-{node_id(NODE_KEY)}" == NODE_SPEC.unique_id()


async def test_zeroconf_without_txt_name(hass: HomeAssistant) -> None:
    """A node announcing no name is called by its service instance name."""
    info = ZeroconfServiceInfo(
        ip_address=ip_address("192.168.1.71"),
        ip_addresses=[ip_address("192.168.1.71")],
        hostname="hall.local.",
        name="hall._uspd._tcp.local.",
        port=None,
        type="_uspd._tcp.local.",
        properties={},
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {"name": "hall", "host": "192.168.1.71:47621"}


async def test_zeroconf_already_configured(hass: HomeAssistant) -> None:
    """A node that is set up already is not offered again."""
    spec = SourceSpec(kind="node", params={"host": "192.168.1.70", "port": 7355, "key": "k"})
    MockConfigEntry(domain=DOMAIN, unique_id=spec.unique_id(), data={}).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=ZEROCONF_INFO
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_zeroconf_with_node_id(hass: HomeAssistant, mock_check_hardware: MagicMock) -> None:
    """A node announcing its id takes only its own key (checked before connecting)."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_ZEROCONF},
        data=_announcement("192.168.1.70", id=node_id(NODE_KEY)),
    )
    assert result["step_id"] == "zeroconf_confirm"
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    assert flow["context"]["unique_id"] == NODE_SPEC.unique_id()

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"key": NEW_NODE_KEY}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"key": "wrong_node_key"}
    mock_check_hardware.assert_not_called()

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"key": NODE_KEY})
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == NODE_SPEC.unique_id()
    assert result["data"][CONF_SOURCE]["params"] == {
        "host": "192.168.1.70",
        "port": 7355,
        "key": NODE_KEY,
    }


async def test_zeroconf_node_moved(
    hass: HomeAssistant, node_config_entry: MockConfigEntry, mock_setup_entry: AsyncMock
) -> None:
    """A configured node announcing itself at another address moves its entry there,
    which reloads; announced again at that address, nothing changes."""
    node_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(node_config_entry.entry_id)
    await hass.async_block_till_done()
    assert len(mock_setup_entry.mock_calls) == 1

    moved = _announcement("192.168.1.80", 47621, id=node_id(NODE_KEY))
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=moved
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await hass.async_block_till_done()
    assert node_config_entry.data[CONF_SOURCE] == {
        "kind": "node",
        "params": {"host": "192.168.1.80", "port": 47621, "key": NODE_KEY},
    }
    assert node_config_entry.data[CONF_CALIBRATION] == CALIBRATION.to_dict()
    assert node_config_entry.unique_id == NODE_SPEC.unique_id()
    assert node_config_entry.state is ConfigEntryState.LOADED
    assert len(mock_setup_entry.mock_calls) == 2  # reloaded

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=moved
    )
    assert result["reason"] == "already_configured"
    await hass.async_block_till_done()
    assert len(mock_setup_entry.mock_calls) == 2


@pytest.mark.parametrize(
    ("host", "announced", "expected"),
    [
        # Still one of the addresses a node on two networks announces.
        ("192.168.1.50", ("172.17.0.1", "192.168.1.50"), "192.168.1.50"),
        # A name follows the node by itself.
        ("kitchen.local", ("192.168.1.80",), "kitchen.local"),
        ("192.168.1.50", ("192.168.1.80", "172.17.0.1"), "192.168.1.80"),
    ],
)
async def test_zeroconf_node_moved_keeps_a_working_host(
    hass: HomeAssistant, host: str, announced: tuple[str, ...], expected: str
) -> None:
    """Only an address the node no longer announces is replaced; the port always is."""
    spec = SourceSpec(kind="node", params={"host": host, "port": 7355, "key": NODE_KEY})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=spec.unique_id(),
        data={CONF_SOURCE: spec.to_dict(), CONF_CALIBRATION: CALIBRATION.to_dict()},
        minor_version=2,
    )
    entry.add_to_hass(hass)
    info = _announcement(announced[0], 47621, also=announced[1:], id=node_id(NODE_KEY))
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_SOURCE]["params"] == {"host": expected, "port": 47621, "key": NODE_KEY}


async def test_zeroconf_without_id_at_a_configured_address(
    hass: HomeAssistant, node_config_entry: MockConfigEntry
) -> None:
    """An older node (no id in its TXT record) is recognised by its address."""
    node_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_announcement("192.168.1.50")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    # At another address it cannot be told from a new node until its key is entered.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_announcement("192.168.1.51")
    )
    assert result["step_id"] == "zeroconf_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"key": NODE_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert node_config_entry.data[CONF_SOURCE]["params"]["host"] == "192.168.1.50"


@pytest.mark.parametrize("ident", ["", "kitchen", "1737E6DAEAF9B45B", "0" * 64])
async def test_zeroconf_malformed_id_is_no_id(hass: HomeAssistant, ident: str) -> None:
    """A TXT id that cannot be a node id is ignored (the address names the node)."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_ZEROCONF},
        data=_announcement("192.168.1.70", id=ident),
    )
    assert result["step_id"] == "zeroconf_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"key": NODE_KEY})
    assert result["type"] is FlowResultType.SHOW_PROGRESS


async def test_zeroconf_not_supported(hass: HomeAssistant, mock_available_kinds: MagicMock) -> None:
    """Without node support in the engine, a discovery aborts."""
    mock_available_kinds.return_value = ("simulated",)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=ZEROCONF_INFO
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_supported"


async def test_reconfigure_to_soundcard(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_run_calibration: MagicMock
) -> None:
    """Reconfigure: switch the demo room to a sound card and calibrate with the options."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={**mock_config_entry.options, "band": "high"}
    )
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"source": "soundcard"}
    )
    assert result["step_id"] == "soundcard"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOUNDCARD_INPUT)
    result = await _to_calibration_result(hass, result)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.unique_id == SOUNDCARD_SPEC.unique_id()
    assert mock_config_entry.data[CONF_SOURCE] == SOUNDCARD_SPEC.to_dict()
    assert mock_config_entry.title == "Simulated room"
    assert mock_run_calibration.call_args.args[1].band == "high"


async def test_reconfigure_soundcard_suggests_current(hass: HomeAssistant) -> None:
    """The sound card form is prefilled with the current devices."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=SOUNDCARD_SPEC.unique_id(),
        data={CONF_SOURCE: SOUNDCARD_SPEC.to_dict(), CONF_CALIBRATION: CALIBRATION.to_dict()},
        options=RunnerOptions().to_dict(),
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"source": "soundcard"}
    )
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested == {
        "input_device": "hw:1,0",
        "output_device": "hw:1,0",
        "sample_rate": "192000",
    }
    # Re-run the calibration on the same card.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOUNDCARD_INPUT)
    result = await _to_calibration_result(hass, result)
    assert result["reason"] == "reconfigure_successful"


async def test_reconfigure_node_keeps_key_hidden(
    hass: HomeAssistant, node_config_entry: MockConfigEntry
) -> None:
    """The node form is prefilled with host and port, never with the key."""
    node_config_entry.add_to_hass(hass)
    result = await node_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"source": "node"})
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested == {"host": "192.168.1.50", "port": 7355}


async def test_reconfigure_to_other_entrys_device(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, node_config_entry: MockConfigEntry
) -> None:
    """Reconfiguring onto a sensor another entry owns is refused, and recoverable."""
    mock_config_entry.add_to_hass(hass)
    node_config_entry.add_to_hass(hass)
    result = await node_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"source": "simulated"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "already_configured"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"source": "node"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "192.168.1.50", "port": 7355, "key": NODE_KEY}
    )
    result = await _to_calibration_result(hass, result)
    assert result["reason"] == "reconfigure_successful"
    assert node_config_entry.unique_id == NODE_SPEC.unique_id()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SourceError("bad key", "auth_failed"), {"base": "invalid_auth"}),
        (SourceError("unreachable", "device_not_found"), {"base": "cannot_connect"}),
        (SourceError("link lost", "disconnected"), {"base": "cannot_connect"}),
        (RuntimeError("boom"), {"base": "unknown"}),
        (None, {"key": "invalid_key"}),
    ],
)
async def test_reauth(
    hass: HomeAssistant,
    node_config_entry: MockConfigEntry,
    mock_check_hardware: MagicMock,
    error: Exception | None,
    expected: dict[str, str],
) -> None:
    """A new node key is checked, stored, and the entry reloaded."""
    node_config_entry.add_to_hass(hass)
    result = await node_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {"name": "Sensor node 192.168.1.50"}

    mock_check_hardware.side_effect = error
    wrong = "not a key" if error is None else NODE_KEY
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"key": wrong})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == expected

    mock_check_hardware.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"key": NEW_NODE_KEY}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert node_config_entry.data[CONF_SOURCE]["params"] == {
        "host": "192.168.1.50",
        "port": 7355,
        "key": NEW_NODE_KEY,
    }
    assert node_config_entry.data[CONF_CALIBRATION] == CALIBRATION.to_dict()
    # A re-keyed node has a new id (what it announces now).
    assert node_config_entry.unique_id == f"node-{node_id(NEW_NODE_KEY)}"


async def test_reauth_with_another_entrys_node_key(
    hass: HomeAssistant, node_config_entry: MockConfigEntry, mock_check_hardware: MagicMock
) -> None:
    """A key whose node has its own entry is refused (before connecting)."""
    node_config_entry.add_to_hass(hass)
    other = SourceSpec(
        kind="node", params={"host": "192.168.1.51", "port": 7355, "key": NEW_NODE_KEY}
    )
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=other.unique_id(),
        data={CONF_SOURCE: other.to_dict(), CONF_CALIBRATION: CALIBRATION.to_dict()},
        minor_version=2,
    ).add_to_hass(hass)
    result = await node_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"key": NEW_NODE_KEY}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "already_configured"}
    mock_check_hardware.assert_not_called()
    assert node_config_entry.data[CONF_SOURCE]["params"]["key"] == NODE_KEY


async def test_calibration_in_progress(hass: HomeAssistant) -> None:
    """While the executor calibrates, the flow keeps showing progress."""
    release = threading.Event()

    def slow_calibration(spec: SourceSpec, options: RunnerOptions) -> Any:
        release.wait(10)
        return CALIBRATION

    with patch(
        "custom_components.ultrasonic_presence.config_flow.run_calibration", slow_calibration
    ):
        result = await _start(hass, "simulated")
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        # The frontend polls the flow meanwhile.
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        release.set()
        result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_manifest_announces_zeroconf_type(hass: HomeAssistant) -> None:
    """HA's zeroconf matcher routes _uspd._tcp.local. announcements to this flow."""
    matchers = await async_get_zeroconf(hass)
    assert {"domain": DOMAIN} in matchers["_uspd._tcp.local."]


def _options(result: dict[str, Any], field: str) -> list[Any]:
    return result["data_schema"].schema[field].config["options"]


def _defaults(result: dict[str, Any]) -> dict[str, Any]:
    return {
        str(key): key.default()
        for key in result["data_schema"].schema
        if callable(getattr(key, "default", None))
    }


async def test_soundcard_offers_devices(
    hass: HomeAssistant, mock_list_devices: MagicMock, mock_check_hardware: MagicMock
) -> None:
    """Recording and playback devices are offered separately, by name (index if ambiguous)."""
    result = await _start(hass, "soundcard")
    assert result["errors"] == {}
    mock_list_devices.assert_called_with(refresh=True)
    inputs = _options(result, "input_device")
    assert [option["value"] for option in inputs] == [
        "USB Audio: - (hw:1,0)",
        "pulse",
        "default",
        "4",
        "5",
    ]
    assert inputs[0]["label"] == "USB Audio: - (hw:1,0) (ALSA, 4 ch, 96 kHz)"
    assert inputs[4]["label"] == "Line In (JACK Audio Connection Kit, 2 ch, 48 kHz)"
    outputs = _options(result, "output_device")
    assert [option["value"] for option in outputs] == [
        "USB Audio: - (hw:1,0)",
        "HDMI 0",
        "pulse",
        "default",
    ]
    selector = result["data_schema"].schema["input_device"]
    assert selector.config["custom_value"] is True
    assert _options(result, "sample_rate") == ["44100", "48000", "96000", "192000"]
    assert _defaults(result) == {
        "input_device": "default",
        "output_device": "default",
        "sample_rate": "96000",
    }

    # A device picked from the list, with a channel count.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "input_device": "USB Audio: - (hw:1,0)",
            "output_device": "USB Audio: - (hw:1,0)",
            "sample_rate": "48000",
            "channels": 2.0,
        },
    )
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SOURCE]["params"] == {
        "input_device": "USB Audio: - (hw:1,0)",
        "output_device": "USB Audio: - (hw:1,0)",
        "sample_rate": 48000,
        "channels": 2,
    }


async def test_soundcard_without_default_device(
    hass: HomeAssistant, mock_list_devices: MagicMock
) -> None:
    """Without a device called `default`, the first usable device is preselected."""
    mock_list_devices.return_value = [
        {
            "index": 7,
            "name": "Built-in Microphone",
            "hostapi": "Core Audio",
            "max_input_channels": 2,
            "max_output_channels": 0,
            "default_samplerate": 96000.0,
        },
        {
            "index": 8,
            "name": "Built-in Output",
            "hostapi": "Core Audio",
            "max_input_channels": 0,
            "max_output_channels": 2,
            "default_samplerate": 96000.0,
        },
    ]
    result = await _start(hass, "soundcard")
    assert _defaults(result) == {
        "input_device": "Built-in Microphone",
        "output_device": "Built-in Output",
        "sample_rate": "96000",
    }


@pytest.mark.parametrize(
    "failure",
    [{"return_value": []}, {"side_effect": SourceError("PortAudio: boom", "device_not_found")}],
)
async def test_soundcard_no_devices(
    hass: HomeAssistant,
    mock_list_devices: MagicMock,
    mock_check_hardware: MagicMock,
    failure: dict[str, Any],
) -> None:
    """No device listed: say so, and still accept a typed device name or index."""
    mock_list_devices.configure_mock(**failure)
    result = await _start(hass, "soundcard")
    assert result["step_id"] == "soundcard"
    assert result["errors"] == {"base": "no_devices"}
    assert _options(result, "input_device") == []
    assert "input_device" not in _defaults(result)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"input_device": "2", "output_device": "2", "sample_rate": "96000"}
    )
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SOURCE]["params"] == {
        "input_device": "2",
        "output_device": "2",
        "sample_rate": 96000,
    }


async def test_node_form_defaults_to_the_node_port(hass: HomeAssistant) -> None:
    """The node form suggests the port `uspd node` listens on by default."""
    result = await _start(hass, "node")
    assert _defaults(result) == {"port": 47621}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SourceError("unreachable", "device_not_found"), "cannot_connect"),
        (SourceError("link lost", "disconnected"), "cannot_connect"),
        (SourceError("garbage", "corrupt"), "corrupt"),
        (SourceError("48 kHz only", "sample_rate_too_low"), "sample_rate_too_low"),
        (SourceError("silence", "no_ultrasonic_response"), "no_ultrasonic_response"),
        (RuntimeError("boom"), "unknown"),
    ],
)
async def test_node_check_errors(
    hass: HomeAssistant, mock_check_hardware: MagicMock, error: Exception, expected: str
) -> None:
    """Node errors: an unreachable node (or its missing card) cannot be connected to."""
    result = await _start(hass, "node")
    mock_check_hardware.side_effect = error
    result = await hass.config_entries.flow.async_configure(result["flow_id"], NODE_INPUT)
    assert result["step_id"] == "node"
    assert result["errors"] == {"base": expected}


async def test_node_invalid_key(hass: HomeAssistant, mock_check_hardware: MagicMock) -> None:
    """A key that cannot be a node key is refused before connecting; fixing it recovers."""
    result = await _start(hass, "node")
    for bad in ("secret", "AAAA", "zz" * 32):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**NODE_INPUT, "key": bad}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "node"
        assert result["errors"] == {"key": "invalid_key"}
    mock_check_hardware.assert_not_called()

    # Hex works as well as base64.
    hex_key = bytes(range(32)).hex()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**NODE_INPUT, "key": hex_key}
    )
    result = await _to_calibration_result(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SOURCE]["params"]["key"] == hex_key


async def test_node_calibration_auth_error(
    hass: HomeAssistant, mock_run_calibration: MagicMock
) -> None:
    """The node refusing the key during calibration is shown on the node form."""
    mock_run_calibration.side_effect = SourceError("bad key", "auth_failed")
    result = await _start(hass, "node")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], NODE_INPUT)
    result = await _finish_calibration(hass, result)
    assert result["step_id"] == "node"
    assert result["errors"] == {"base": "invalid_auth"}
