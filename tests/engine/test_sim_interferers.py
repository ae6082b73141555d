"""Interferers leave the signatures they should: HVAC wander, curtains, tones, bursts,
audible-only speech; and the CLI writes what it promises."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from uspd.cli import main
from uspd.sim import (
    Burst,
    DeviceSpec,
    Hvac,
    Room,
    Scenario,
    SimulatedSource,
    Speech,
    Switches,
    Tone,
)
from uspd.sim.bench import realtime_factor

FS, F0 = 48000, 20000.0
QUIET = DeviceSpec(mic_noise_dbfs_hz=None, adc_bits=None)


def _spectrum(actors: tuple[object, ...], seconds: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    sc = Scenario(sample_rate=FS, carrier_hz=F0, duration_s=seconds, seed=2, room=Room(),
                  device=QUIET, actors=actors)  # type: ignore[arg-type]  # fmt: skip
    x = SimulatedSource(sc).read(int(seconds * FS))[:, 0].astype(np.float64)
    w = np.kaiser(x.size, 16)
    spec = np.abs(np.fft.rfft(x * w)) ** 2
    return np.fft.rfftfreq(x.size, 1 / FS) - F0, spec / spec.max()


def _band_db(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    sel = (np.abs(f) >= lo) & (np.abs(f) < hi)
    return float(10 * np.log10(p[sel].sum() + 1e-300))


def test_hvac_airflow_broadens_the_static_clutter() -> None:
    f, quiet = _spectrum(())
    _, airy = _spectrum((Hvac(switches=Switches(initial=True), strength=2.0),))
    assert _band_db(f, quiet, 1.5, 10) < -110
    assert -80 < _band_db(f, airy, 1.5, 10) < -20  # a few-Hz skirt, well below the carrier
    assert _band_db(f, airy, 100, 1500) < -100  # and nothing at walking Doppler


def test_tone_appears_at_its_frequency_with_its_level() -> None:
    tone = Tone(freq_hz=F0 + 700.0, level_dbfs=-80.0, drift_hz=0.0)
    sc = Scenario(sample_rate=FS, carrier_hz=F0, duration_s=1.0, seed=2, device=QUIET,
                  actors=(tone,))  # fmt: skip
    src = SimulatedSource(sc)
    x = src.read(FS)[:, 0].astype(np.float64)
    t = np.arange(FS) / FS
    w = np.hanning(FS)
    amp = abs(np.sum(x * w * np.exp(-2j * np.pi * (F0 + 700.0) * t))) * 2 / w.sum()
    mic = src.renderer.device.mic_response(np.array([F0 + 700.0]))[0, 0]
    gain = src.renderer.tones[0].mic_gain[0]
    assert 20 * np.log10(amp / (abs(mic) * gain)) == pytest.approx(-80.0, abs=0.5)
    assert src.tone_layout() == [(F0 + 700.0, -80.0, 0.0, 1.0)]


def test_jingle_is_broadband_ultrasound_and_speech_is_audible_only() -> None:
    f, jingle = _spectrum((Burst("jingle", (1.0,), -30.0),), seconds=3.0)
    _, speech = _spectrum((Speech(((0.0, 3.0),), -20.0),), seconds=3.0)
    _, quiet = _spectrum((), seconds=3.0)
    assert _band_db(f, jingle, 100, 1500) > _band_db(f, quiet, 100, 1500) + 40
    assert _band_db(f, speech, 100, 1500) < -120  # speech leaves the Doppler band alone
    audible = (f + F0 > 100) & (f + F0 < 3000)
    assert speech[audible].sum() > 100 * quiet[audible].sum()


def test_cli_writes_wav_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "walk.wav"
    code = main(["simulate", "--scenario", "walk_in", "--duration", "3", "--rate", "48000",
                 "--mics", "2", "--bits", "24", "--out", str(out)])  # fmt: skip
    assert code == 0
    rate, data = wavfile.read(out)
    assert rate == 48000 and data.shape == (144000, 2) and data.dtype == np.int32
    truth = json.loads(out.with_suffix(".json").read_text())
    assert len(truth["frames"]) == 60
    assert truth["frames"][0]["motion"] == "none"
    assert truth["frames"][-1]["present"] is True
    assert truth["scenario"]["name"] == "walk_in"


def test_cli_rejects_unknown_scenario(tmp_path: Path) -> None:
    assert main(["simulate", "--scenario", "nope", "--out", str(tmp_path / "x.wav")]) == 2


def test_realtime_factor_measures_something() -> None:
    assert realtime_factor(sample_rate=48000, n_mics=1, seconds=0.5) > 0
