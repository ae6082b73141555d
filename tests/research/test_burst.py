"""On-demand range bursts (research/range_band/burst.py, not shipped): with no range
history before the burst, a walker is still a new line through range and time, and a
rotor that stays put is not, running or spinning up."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

burst = importlib.import_module("burst")  # research/range_band (conftest)
translation = importlib.import_module("translation")
test_range_band = importlib.import_module("tests.research.test_range_band")

SWEEP_S = 0.04
SWEEPS = round(burst.BURST_S / SWEEP_S) + 1  # as many as one burst holds


def _score(paths: np.ndarray, seed: int = 1) -> float:
    profiles = test_range_band._profiles(paths, 30.0, seed)
    return float(burst.burst_score([translation.motion_map(profiles, SWEEP_S)]))


def test_a_burst_holds_five_frames_of_motion() -> None:
    """The translation line is five 0.2 s frames long: a shorter burst scores nothing."""
    t = np.arange(SWEEPS) * SWEEP_S
    motion = translation.motion_map(test_range_band._profiles((9.0 - 2 * t)[:, None], 30.0, 1))
    assert motion.shape[0] == translation.LINE_FRAMES
    assert burst.burst_score([motion[:-1]]) == -99.0


@pytest.mark.parametrize("speed", [0.5, 1.0, 1.6])
def test_a_walker_in_a_burst_scores_high(speed: float) -> None:
    t = np.arange(SWEEPS) * SWEEP_S
    assert _score((9.0 - 2 * speed * t)[:, None]) > 12.0


@pytest.mark.parametrize("spin_up", [False, True])
def test_a_rotor_that_stays_put_scores_low_in_a_burst(spin_up: bool) -> None:
    t = np.arange(SWEEPS) * SWEEP_S
    rate = 12.0 * (1 - np.exp(-t / 0.5)) if spin_up else 12.0 + 0 * t
    turns = np.cumsum(rate) * SWEEP_S
    angle = 2 * np.pi * turns[:, None] + np.arange(3)[None, :] * 2 * np.pi / 3
    assert _score(4.0 + 0.4 * np.sin(angle)) < 3.0


def _walk_in(p_major: float) -> object:
    """A development walk-in's truth with made-up decisions: no motion, then p(major)
    `p_major` for as long as the walker walks (no rendering, no model)."""
    from uspd.bench import BenchScene
    from uspd.sim.library import random_scenario
    from uspd.sim.source import SimulatedSource

    scenario = random_scenario("walk", 8100001, duration_s=20.0, sample_rate=96000, n_mics=4)
    truth = SimulatedSource(scenario).truth_frames(0.0, scenario.duration_s)
    t = np.array([f.t + 0.05 for f in truth])
    walking = np.array([f.present and f.motion == "major" for f in truth])
    p = np.tile(np.array([0.9, 0.0, 0.0, 0.1], np.float32), (t.size, 1))
    p[walking] = [1 - p_major - 0.05, p_major, 0.0, 0.05]
    none = np.zeros(t.size, bool)
    return replay.Decided(
        scene=BenchScene("walk", "walk", scenario),
        truth=truth,
        t=t,
        p=p,
        rotating=none,
        burst=none,
        warming=t < 2.0,
        ready_t=2.0,
        available_t=t,
    )


replay = importlib.import_module("burst_replay")


def test_a_burst_that_sees_the_walker_finds_them_when_it_ends() -> None:
    d = _walk_in(0.4)  # never enough on its own (0.57 at the default sensitivity)
    shipped, _ = replay.replay(d, None, lambda kind, start: 99.0)
    assert not shipped.detected
    trigger = replay.Trigger.parse("lfm_40ms:0.3:4:6:2.5")
    found, bursts = replay.replay(d, trigger, lambda kind, start: 10.0)
    assert found.detected and len(bursts) == 1
    assert found.latency_s is not None  # four frames to trigger, then the whole burst
    assert burst.BURST_S < found.latency_s < burst.BURST_S + 0.35


def test_a_burst_that_sees_nothing_keeps_the_tone_deaf_for_its_warm_up() -> None:
    """A walker the tone would find at once is lost for the burst and the warm-up after it."""
    d = _walk_in(0.9)
    shipped, _ = replay.replay(d, None, lambda kind, start: 0.0)
    assert shipped.detected and shipped.latency_s is not None and shipped.latency_s < 0.3
    early = replay.Trigger.parse("lfm_40ms:0.3:1:1:2.5")  # fires on the first frame
    late, bursts = replay.replay(d, early, lambda kind, start: 0.0)
    dead_until = bursts[0][0] + burst.BURST_S + replay.WARMUP_S
    walk_ends = max(f.t for f in d.truth if f.motion == "major")
    assert walk_ends < dead_until  # this walker stops walking before the tone is back
    assert not late.detected
    assert replay.Trigger.parse(early.name) == early


def test_noise_alone_scores_near_zero() -> None:
    t = np.arange(SWEEPS) * SWEEP_S
    scores = [_score(np.full((t.size, 1), 50.0), seed) for seed in range(5)]
    assert max(scores) < 1.5
