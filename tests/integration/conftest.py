"""Fixtures for the Ultrasonic Presence integration tests."""

from __future__ import annotations

import base64
import queue
import threading
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any
from unittest.mock import AsyncMock, MagicMock, PropertyMock, patch

import numpy as np
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.ultrasonic_presence.const import (
    CONF_CALIBRATION,
    CONF_SOURCE,
    DOMAIN,
    SIMULATED_PARAMS,
)
from custom_components.ultrasonic_presence.uspd.audio.factory import SourceSpec
from custom_components.ultrasonic_presence.uspd.dsp.calibration import CalibrationResult
from custom_components.ultrasonic_presence.uspd.runner import (
    PresenceRunner,
    RunnerOptions,
    SensorState,
)

INTEGRATION = "custom_components.ultrasonic_presence"

SIM_SPEC = SourceSpec(kind="simulated", params=dict(SIMULATED_PARAMS))
# Well-formed node keys (base64 of 32 bytes), as `uspd node` prints them.
NODE_KEY = base64.b64encode(bytes(range(32))).decode()
NEW_NODE_KEY = base64.b64encode(bytes(range(32, 64))).decode()
NODE_SPEC = SourceSpec(kind="node", params={"host": "192.168.1.50", "port": 7355, "key": NODE_KEY})
# What uspd.audio.soundcard.list_devices reports on a typical Linux machine: one
# USB card (under ALSA only), the sound server's devices, and a card listed twice.
SOUND_DEVICES: list[dict[str, Any]] = [
    {
        "index": 0,
        "name": "USB Audio: - (hw:1,0)",
        "hostapi": "ALSA",
        "max_input_channels": 4,
        "max_output_channels": 2,
        "default_samplerate": 96000.0,
    },
    {
        "index": 1,
        "name": "HDMI 0",
        "hostapi": "ALSA",
        "max_input_channels": 0,
        "max_output_channels": 8,
        "default_samplerate": 48000.0,
    },
    {
        "index": 2,
        "name": "pulse",
        "hostapi": "ALSA",
        "max_input_channels": 32,
        "max_output_channels": 32,
        "default_samplerate": 44100.0,
    },
    {
        "index": 3,
        "name": "default",
        "hostapi": "ALSA",
        "max_input_channels": 32,
        "max_output_channels": 32,
        "default_samplerate": 44100.0,
    },
    {
        "index": 4,
        "name": "Line In",
        "hostapi": "ALSA",
        "max_input_channels": 2,
        "max_output_channels": 0,
        "default_samplerate": 48000.0,
    },
    {
        "index": 5,
        "name": "Line In",
        "hostapi": "JACK Audio Connection Kit",
        "max_input_channels": 2,
        "max_output_channels": 0,
        "default_samplerate": 48000.0,
    },
]
CALIBRATION_DATA: dict[str, Any] = {
    "carrier_hz": 31250.0,
    "level_dbfs": -18.0,
    "snr_db": 27.5,
    "sample_rate": 96000,
    "received_dbfs": -52.0,
    "noise_dbfs": -79.5,
    "target_snr_db": 25.0,
    "audio_seconds": 4.2,
    "response": [
        {
            "freq_hz": freq,
            "gain_db": gain,
            "noise_dbfs": -80.0,
            "snr_at_max_db": snr,
            "max_level_dbfs": -6.0,
            "stability_db": 0.2,
        }
        for freq, gain, snr in (
            (20000.0, -40.0, 21.0),
            (31250.0, -34.0, 40.0),
            (40000.0, -50.0, 12.0),
        )
    ],
    "tones": [[21500.0, -62.0]],
    "warnings": ["Speaker response falls off above 35 kHz"],
}
CALIBRATION = CalibrationResult.from_dict(CALIBRATION_DATA)

BASE_STATE = SensorState(
    t=12.5,
    occupied=True,
    motion_level=42.0,
    motion_class="major",
    carrier_hz=31250.0,
    snr_db=27.5,
    emission_level_dbfs=-18.0,
    emission_enabled=True,
    music_present=False,
    reason="major motion (walking)",
    occupancy_reason="major motion",
    processing_load_percent=3.4,
)


def make_state(**changes: Any) -> SensorState:
    """A SensorState like BASE_STATE with some fields changed."""
    return replace(BASE_STATE, **changes)


async def complete_calibration(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    """A real calibration in the config flow: progress → result form (an ultrasonic
    carrier) → entry."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "calibrate"
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "calibration_result"
    assert float(result["description_placeholders"]["carrier"]) >= 18.0
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return result


class FakeRunner:
    """PresenceRunner stand-in with a real worker thread that delivers callbacks."""

    instances: list[FakeRunner] = []  # noqa: RUF012

    def __init__(
        self,
        spec: SourceSpec,
        calibration: CalibrationResult,
        options: RunnerOptions,
        on_state: Callable[[SensorState], None],
        on_availability: Callable[[bool, str | None], None],
        *,
        realtime: bool = True,
        on_calibrated: Callable[[CalibrationResult], None] | None = None,
    ) -> None:
        """Record what the coordinator passed."""
        self.spec = spec
        self.calibration = calibration
        self.options = options
        self.on_state = on_state
        self.on_availability = on_availability
        self.on_calibrated = on_calibrated
        self.realtime = realtime
        self.runtime = "numpy"
        self.health_problem: str | None = None
        self.last_error_code: str | None = None
        self.emission_enabled = True
        self.recalibrations = 0
        self.captured: list[float] = []
        self.quiet_requests: list[tuple[float, str]] = []
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        FakeRunner.instances.append(self)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread = threading.Thread(target=self._worker, name="fake-uspd")
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join the worker thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _worker(self) -> None:
        while (job := self._queue.get()) is not None:
            job()
            self._queue.task_done()
        self._queue.task_done()

    def _from_thread(self, job: Callable[[], None]) -> None:
        """Run job on the worker thread and wait until it ran."""
        assert self._thread is not None, "runner not started"
        self._queue.put(job)
        self._queue.join()

    def push_state(self, state: SensorState) -> None:
        """Deliver a state from the worker thread."""
        self._from_thread(lambda: self.on_state(state))

    def push_availability(
        self, available: bool, message: str | None = None, code: str | None = None
    ) -> None:
        """Deliver an availability change (with the outage's error code) like the runner."""

        def job() -> None:
            self.last_error_code = None if available else code
            self.on_availability(available, message)

        self._from_thread(job)

    def push_calibration(self, calibration: CalibrationResult) -> None:
        """Finish a recalibration on the worker thread."""
        self.calibration = calibration
        assert self.on_calibrated is not None
        self._from_thread(lambda: self.on_calibrated(calibration))  # type: ignore[misc]

    def set_emission_enabled(self, enabled: bool) -> None:
        """Record the emission switch."""
        self.emission_enabled = enabled

    def request_recalibration(self) -> None:
        """Count recalibration requests."""
        self.recalibrations += 1

    def ignore_new_motion(self, seconds: float, reason: str) -> None:
        """Record quiet-time requests."""
        self.quiet_requests.append((seconds, reason))

    def capture_features(self, seconds: float) -> np.ndarray:
        """Return 20 feature frames per second."""
        self.captured.append(seconds)
        return np.ones((round(seconds * 20), 8), dtype=np.float32)

    def statistics(self) -> dict[str, Any]:
        """Recent decision statistics."""
        return {
            "decisions": 250,
            "occupied_decisions": 100,
            "class_counts": {"major": 40},
            "processing_load_percent": 3.42,
        }


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots serialized like core's, stored in tests/integration/snapshots/."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled (for snapshots)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A simulated-room entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Simulated room",
        minor_version=2,
        unique_id=SIM_SPEC.unique_id(),
        data={CONF_SOURCE: SIM_SPEC.to_dict(), CONF_CALIBRATION: CALIBRATION.to_dict()},
        options=RunnerOptions().to_dict(),
        entry_id="01JSIMULATEDROOM0000000000",
    )


@pytest.fixture
def node_config_entry() -> MockConfigEntry:
    """A sensor-node entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Sensor node 192.168.1.50",
        minor_version=2,
        unique_id=NODE_SPEC.unique_id(),
        data={CONF_SOURCE: NODE_SPEC.to_dict(), CONF_CALIBRATION: CALIBRATION.to_dict()},
        options=RunnerOptions().to_dict(),
        entry_id="01JSENSORNODE0000000000000",
    )


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep config-flow tests from setting the entry up."""
    with patch(f"{INTEGRATION}.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
def mock_available_kinds() -> Generator[MagicMock]:
    """Offer every source kind, whatever this engine build supports."""
    with patch(
        f"{INTEGRATION}.config_flow.available_kinds",
        return_value=("simulated", "soundcard", "node"),
    ) as mock:
        yield mock


@pytest.fixture
def mock_list_devices() -> Generator[MagicMock]:
    """The sound card list (PortAudio) as SOUND_DEVICES."""
    with patch(
        f"{INTEGRATION}.uspd.audio.soundcard.list_devices", return_value=SOUND_DEVICES
    ) as mock:
        yield mock


@pytest.fixture
def mock_check_hardware() -> Generator[MagicMock]:
    """check_hardware, patched where the flow and the coordinator use it."""
    with (
        patch(f"{INTEGRATION}.coordinator.check_hardware", return_value=None) as mock,
        patch(f"{INTEGRATION}.config_flow.check_hardware", new=mock),
    ):
        yield mock


@pytest.fixture
def mock_run_calibration() -> Generator[MagicMock]:
    """run_calibration returning CALIBRATION."""
    with patch(f"{INTEGRATION}.config_flow.run_calibration", return_value=CALIBRATION) as mock:
        yield mock


@pytest.fixture
def mock_runner() -> Generator[type[FakeRunner]]:
    """PresenceRunner replaced by FakeRunner; the class keeps its instances."""
    FakeRunner.instances = []
    with patch(f"{INTEGRATION}.coordinator.PresenceRunner", FakeRunner):
        yield FakeRunner
    for runner in FakeRunner.instances:
        runner.stop()


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_check_hardware: MagicMock,
    mock_runner: type[FakeRunner],
) -> MockConfigEntry:
    """Set the simulated-room entry up and deliver a first state."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    mock_runner.instances[-1].push_state(BASE_STATE)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def runner(init_integration: MockConfigEntry, mock_runner: type[FakeRunner]) -> FakeRunner:
    """The running FakeRunner of init_integration."""
    return mock_runner.instances[-1]


class SteppedRunner(PresenceRunner):
    """The real runner without its worker thread: the test advances stream time."""

    instances: list[SteppedRunner] = []  # noqa: RUF012

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Force non-realtime operation."""
        kwargs["realtime"] = False
        super().__init__(*args, **kwargs)
        SteppedRunner.instances.append(self)

    def start(self) -> None:
        """No thread: run_for drives the pipeline."""


@pytest.fixture
def stepped_runner() -> Generator[type[SteppedRunner]]:
    """Patch the coordinator to use SteppedRunner (the real engine, stepped by the test)."""
    SteppedRunner.instances = []
    with patch(f"{INTEGRATION}.coordinator.PresenceRunner", SteppedRunner):
        yield SteppedRunner
