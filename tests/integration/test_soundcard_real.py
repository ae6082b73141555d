"""The sound card step against a real audio server (PulseAudio, private, in a temp dir).

tests/engine/audio_server.py starts PulseAudio with two null sinks; PortAudio reaches
it through ALSA's pulse plugin. The form lists PortAudio's real devices and the
hardware check really opens them. The calibration is patched in the quick test; the
slow one runs it for real (≈10 s of audio) through the simulated room that moves the
"speaker" sink's audio, with echoes, into the 4-channel "mic" sink.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.ultrasonic_presence.const import CONF_SOURCE, DOMAIN
from tests.engine.audio_server import PulseServer, Room, serving

try:
    from custom_components.ultrasonic_presence.uspd.audio import soundcard
except (ImportError, OSError) as _err:  # sounddevice raises OSError without PortAudio
    pytest.skip(f"sound card support unavailable: {_err}", allow_module_level=True)

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "mock_available_kinds")


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A private PulseAudio server, the only one PortAudio sees meanwhile."""
    yield from serving(tmp_path_factory.mktemp("pulse"), soundcard.refresh_devices)


async def _soundcard_form(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"source": "soundcard"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "soundcard"
    return result


@pytest.mark.usefixtures("mock_run_calibration")
async def test_soundcard_flow_on_pulseaudio(
    hass: HomeAssistant, pulse: PulseServer, mock_run_calibration: MagicMock
) -> None:
    """Real device list, a real failed and a real passed hardware check, then an entry."""
    result = await _soundcard_form(hass)
    assert result["errors"] == {}
    schema = result["data_schema"].schema
    inputs = [option["value"] for option in schema["input_device"].config["options"]]
    outputs = [option["value"] for option in schema["output_device"].config["options"]]
    assert "pulse" in inputs
    assert "pulse" in outputs

    form = {"input_device": "no-such-card", "output_device": "pulse", "sample_rate": "96000"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["step_id"] == "soundcard"
    assert result["errors"] == {"base": "device_not_found"}

    # The mic sink has 4 channels; the source records them at 96 kHz.
    form = {**form, "input_device": "pulse", "channels": 4}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["step_id"] == "calibration_result"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Sound card pulse"
    assert result["data"][CONF_SOURCE] == {
        "kind": "soundcard",
        "params": {
            "input_device": "pulse",
            "output_device": "pulse",
            "sample_rate": 96000,
            "channels": 4,
        },
    }
    spec = mock_run_calibration.call_args.args[0]
    assert spec.params["channels"] == 4


@pytest.mark.slow
async def test_real_calibration_through_the_room(hass: HomeAssistant, pulse: PulseServer) -> None:
    """The whole sound card flow unpatched: the calibration hears the room's echoes."""
    room = Room(pulse)
    room.start()
    try:
        result = await _soundcard_form(hass)
        form = {
            "input_device": "pulse",
            "output_device": "pulse",
            "sample_rate": "96000",
            "channels": 4,
        }
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    finally:
        room.stop()
    assert result["step_id"] == "calibration_result", result.get("errors")
    placeholders = result["description_placeholders"]
    assert float(placeholders["carrier"]) > 24.0  # 96 kHz: the high band
    assert float(placeholders["snr"]) > 20.0
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["calibration"]["sample_rate"] == 96000
