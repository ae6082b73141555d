"""Scenario library, ground truth and device variety."""

from __future__ import annotations

import numpy as np
import pytest

from uspd.sim import DeviceSpec, Scenario, SimulatedSource
from uspd.sim.library import RANDOM_KINDS, SCENARIOS, build_scenario, random_scenario


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_named_scenarios_render_with_truth(name: str) -> None:
    sc = build_scenario(name, duration_s=2.0, sample_rate=48000, n_mics=2)
    src = SimulatedSource(sc)
    x = src.read(24000)
    assert x.shape == (24000, 2) and np.all(np.isfinite(x))
    frames = src.truth_until(2.0)
    assert len(frames) == 40
    assert [f.t for f in frames[:3]] == pytest.approx([0.0, 0.05, 0.1])
    assert all(f.motion in ("none", "still", "minor", "major") for f in frames)


def test_unknown_scenario_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="walk_in"):
        build_scenario("nope")


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_random_scenarios_render(kind: str) -> None:
    sc = random_scenario(kind, seed=11, duration_s=1.0, sample_rate=96000, n_mics=3)
    x = SimulatedSource(sc).read(9600)
    assert np.all(np.isfinite(x)) and np.max(np.abs(x)) > 0


def test_walk_in_truth_sequence() -> None:
    src = SimulatedSource(build_scenario("walk_in", duration_s=20.0, sample_rate=48000))
    frames = src.truth_frames(0.0, 20.0)
    by_t = {round(f.t, 2): f for f in frames}
    assert not by_t[1.0].present and by_t[1.0].motion == "none" and by_t[1.0].distance_m is None
    walking = [f for f in frames if 2.5 <= f.t < 4.0]
    assert all(f.present and f.motion == "major" for f in walking)
    assert walking[-1].distance_m is not None and walking[0].distance_m is not None
    assert walking[-1].distance_m < walking[0].distance_m  # coming towards the desk
    late = [f for f in frames if f.t > 12.0]
    assert all(f.present and f.motion in ("still", "minor") for f in late)
    assert any(f.motion == "minor" for f in late)
    assert all(2.0 < (f.distance_m or 0) < 2.2 for f in late)


def test_interferer_labels() -> None:
    fan = SimulatedSource(build_scenario("ceiling_fan", duration_s=5.0, sample_rate=48000))
    frames = fan.truth_frames(0.0, 5.0)
    assert "ceiling_fan" not in frames[0].interferers
    assert "ceiling_fan" in frames[-1].interferers
    assert not any(f.present for f in frames)
    pet = SimulatedSource(build_scenario("pet", duration_s=6.0, sample_rate=48000))
    pf = pet.truth_frames(0.0, 6.0)
    assert any(f.pet and "pet" in f.interferers for f in pf)
    assert not any(f.present for f in pf)
    music = SimulatedSource(build_scenario("music_only", duration_s=2.0, sample_rate=48000))
    assert all("music" in f.interferers for f in music.truth_frames(0.3, 2.0))


def test_devices_differ_and_some_are_dull_above_30khz() -> None:
    at40, at20 = [], []
    for hw in range(40):
        sc = Scenario(sample_rate=96000, device=DeviceSpec(hw_seed=hw))
        src = SimulatedSource(sc)
        at40.append(abs(src.device_response(40000.0)))
        at20.append(abs(src.device_response(20000.0)))
    ratio_db = 20 * np.log10(np.array(at40) / np.array(at20))
    assert np.ptp(ratio_db) > 15.0  # responses vary a lot between devices
    assert np.sum(ratio_db < -15.0) >= 3  # some have almost nothing above 30 kHz


def test_received_carrier_and_tone_layout() -> None:
    src = SimulatedSource(build_scenario("demo_room", sample_rate=96000, n_mics=4))
    carrier = src.received_carrier(40000.0, -10.0)
    assert carrier.shape == (4,) and np.all(np.abs(carrier) > 0)
    layout = src.tone_layout()
    assert layout and layout[0][0] == pytest.approx(40900.0)


def test_carrier_snr_ranks_carriers_like_the_hardware() -> None:
    from uspd.sim import Tone

    dull = Scenario(sample_rate=96000, device=DeviceSpec(speaker_cutoff_hz=24000.0))
    src = SimulatedSource(dull)
    assert src.carrier_snr_db(20000.0) > src.carrier_snr_db(40000.0) + 20
    bright = Scenario(sample_rate=96000, device=DeviceSpec(speaker_cutoff_hz=60000.0),
                      actors=(Tone(freq_hz=35000.0, level_dbfs=-60.0, drift_hz=5.0),))  # fmt: skip
    src = SimulatedSource(bright)
    assert src.carrier_snr_db(35000.0) < src.carrier_snr_db(35100.0) - 20
    measured = src.read(96000)[:, 0].astype(np.float64)  # at the default 20 kHz carrier
    t = np.arange(96000) / 96000
    w = np.hanning(96000)
    amp = abs(np.sum(measured * w * np.exp(-2j * np.pi * 20000.0 * t))) * 2 / w.sum()
    expected = abs(src.received_carrier(20000.0, bright.level_dbfs)[0])
    assert 20 * np.log10(amp / expected) == pytest.approx(0.0, abs=0.1)
