"""Sound card source against a real PulseAudio server: play → server → room → capture.

The room (tests/engine/audio_server.py) records what the source plays from the
"speaker" null sink, adds the simulator's shoebox echoes and a swaying person, and
plays that into the 4-channel "mic" sink whose monitor the source captures through
PortAudio → ALSA pulse plugin. Skipped (with the reason) only where the server cannot
start.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.engine.audio_server import PulseServer, Room, serving

try:
    from uspd.audio import soundcard
except (ImportError, OSError) as _err:  # sounddevice raises OSError without PortAudio
    pytest.skip(f"sound card support unavailable: {_err}", allow_module_level=True)

from uspd.audio.factory import SourceSpec, available_kinds, open_source
from uspd.audio.soundcard import SoundCardSource
from uspd.audio.source import SourceError
from uspd.cli import main
from uspd.dsp.features import PLANE_MOTION, velocity_centers
from uspd.pipeline import Pipeline
from uspd.runner import check_hardware

CARRIER = 40_000.0


def _start(root: Path) -> Iterator[PulseServer]:
    yield from serving(root, soundcard.refresh_devices)


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    yield from _start(tmp_path_factory.mktemp("pulse"))


@pytest.fixture(scope="module")
def room(pulse: PulseServer) -> Iterator[Room]:
    r = Room(pulse)
    r.start()
    yield r
    r.stop()


@dataclass
class Run:
    carrier_dbfs: list[float]
    features: np.ndarray


def capture(source: SoundCardSource, pipeline: Pipeline, seconds: float) -> Run:
    run = Run([], np.zeros(0))
    for _ in range(round(seconds / 0.05)):
        for result in pipeline.process(source.read(4800)):
            run.carrier_dbfs.append(result.carrier_dbfs)
    run.features = pipeline.recent_features(1.0)
    return run


def test_soundcard_kind_available() -> None:
    assert "soundcard" in available_kinds()


def test_play_server_capture_pipeline(room: Room) -> None:
    """The carrier goes out, comes back with echoes and Doppler, the pipeline sees both."""
    source = SoundCardSource("pulse", "pulse", 96_000, 4)
    try:
        assert (source.sample_rate, source.channels) == (96_000, 4)
        pipeline = Pipeline(96_000, 4, CARRIER)
        source.set_emission(CARRIER, -12.0)
        on = capture(source, pipeline, 4.0)
        level = np.median(on.carrier_dbfs[-20:])
        # Direct path gain ≈ 1 plus wall echoes: the carrier arrives near its emitted level.
        assert -20.0 < level < -3.0, level
        motion = on.features[:, :, PLANE_MOTION].max(axis=0)  # per velocity bin, last second
        speed = np.abs(velocity_centers())
        person = motion[(speed > 0.3) & (speed < 1.6)].max()
        fast = motion[speed > 3.0].max()
        assert person > -110.0, person  # the swaying person's Doppler
        assert person > fast + 20.0, (person, fast)
        source.set_emission(None, -12.0)
        off = capture(source, pipeline, 1.5)
        assert np.median(off.carrier_dbfs[-5:]) < level - 40.0
        health = source.health()
        assert health["sample_rate"] == 96_000
        print(f"\nPulseAudio round trip: carrier {level:.1f} dBFS, person {person:.0f} dBc/Hz, "
              f"xruns {health['xruns']}")  # fmt: skip
    finally:
        source.close()
    with pytest.raises(SourceError):
        source.read(10)


def test_factory_and_hardware_check(room: Room) -> None:
    spec = SourceSpec(
        "soundcard",
        {"input_device": "pulse", "output_device": "pulse", "sample_rate": 96000, "channels": 4},
    )
    check_hardware(spec)
    source = open_source(spec)
    source.close()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"input_device": "no-such-card"}, "device_not_found"),
        ({"input_device": 999}, "device_not_found"),
        ({"input_device": "pulse", "sample_rate": 8000}, "sample_rate_too_low"),
        ({"input_device": "pulse", "channels": 9}, "device_not_found"),
    ],
)
def test_open_errors(pulse: PulseServer, kwargs: dict[str, object], code: str) -> None:
    params = {"output_device": "pulse", **kwargs}
    with pytest.raises(SourceError) as info:
        SoundCardSource(**params)  # type: ignore[arg-type]
    assert info.value.code == code


class _Status:
    def __init__(self, **flags: bool) -> None:
        self.__dict__.update(flags)

    def __bool__(self) -> bool:
        return True


def test_xruns_counted_then_reported(pulse: PulseServer) -> None:
    """Xruns are counted; a burst of them fails the source so the runner reopens it."""
    source = SoundCardSource("pulse", "pulse", 96_000, 2)
    try:
        source._count_xruns(_Status(input_overflow=True))
        assert source.health()["xruns"]["input_overflow"] == 1
        source.read(960)
        for _ in range(soundcard.MAX_XRUNS + 1):
            source._count_xruns(_Status(output_underflow=True))
        with pytest.raises(SourceError) as info:
            source.read(960)
        assert info.value.code == "disconnected"
        assert "dropouts" in str(info.value)
    finally:
        source.close()


def test_probe_command(room: Room, capsys: pytest.CaptureFixture[str]) -> None:
    """`uspd probe` lists the devices and sweeps tones through the room."""
    code = main(["probe", "--input", "pulse", "--output", "pulse", "--mics", "4",
                 "--freqs", "30000,40000,45000", "--level", "-20", "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert any(d["name"] == "pulse" for d in out["devices"])
    rows = {r["freq_hz"]: r for r in out["response"]}
    assert set(rows) == {30_000.0, 40_000.0, 45_000.0}
    assert -15.0 < rows[40_000.0]["gain_db"] < 10.0
    assert code == 0


def test_server_gone_is_disconnected(tmp_path: Path) -> None:
    """Killing the audio server mid-stream (≈ unplugging the card) → SourceError."""
    for server in _start(tmp_path / "pa"):
        source = SoundCardSource("pulse", "pulse", 96_000, 1)
        try:
            source.set_emission(CARRIER, -20.0)
            source.read(4800)
            server.process.kill()
            server.process.wait(5)
            t0 = time.monotonic()
            with pytest.raises(SourceError) as info:
                for _ in range(400):
                    source.read(4800)
            assert info.value.code == "disconnected"
            assert time.monotonic() - t0 < 15.0
        finally:
            source.close()


def test_node_on_a_real_sound_card(room: Room, socket_enabled: None) -> None:
    """`uspd node`'s server on the PulseAudio card: HA's side sees carrier and Doppler."""
    from uspd.node.client import NodeClient
    from uspd.node.protocol import generate_key
    from uspd.node.server import NodeServer

    key = generate_key()
    server = NodeServer(lambda: SoundCardSource("pulse", "pulse", 96_000, 4), key, host="127.0.0.1")
    server.start()
    client = NodeClient("127.0.0.1", server.port, key)
    try:
        pipeline = Pipeline(client.sample_rate, client.channels, CARRIER)
        client.set_emission(CARRIER, -12.0)
        levels = []
        for _ in range(60):
            levels += [r.carrier_dbfs for r in pipeline.process(client.read(4800))]
        motion = pipeline.recent_features(1.0)[:, :, PLANE_MOTION].max(axis=0)
        speed = np.abs(velocity_centers())
        assert -20.0 < np.median(levels[-20:]) < -3.0
        assert motion[(speed > 0.3) & (speed < 1.6)].max() > motion[speed > 3.0].max() + 20.0
        assert client.health["source"]["sample_rate"] == 96_000  # xrun counters reach HA
    finally:
        client.close()
        server.stop()


@pytest.mark.parametrize(("rate", "mics"), [(44_100, 1), (48_000, 2), (192_000, 8)])
def test_rates_and_channel_counts(pulse: PulseServer, rate: int, mics: int) -> None:
    """Every supported card rate and 1-8 microphones open, play and capture."""
    source = SoundCardSource("pulse", "pulse", rate, mics)
    try:
        source.set_emission(20_000.0, -30.0)
        block = source.read(rate // 10)
        assert block.shape == (rate // 10, mics)
        assert block.dtype == np.float32
    finally:
        source.close()
