"""The range band sample by sample (research/range_band/sweep_render.py, not shipped): the
matched filter's units and geometry, and a rendered walker where the simulator puts it."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

sweep_render = importlib.import_module("sweep_render")  # research/range_band (conftest)

C = 343.0
FC = 36000.0
SWEEPS = sweep_render.Sweeps(((0.010, 0.0),))


def _echo(path_m: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A unit echo along `path_m(t)`, as render_band makes one."""
    return SWEEPS.envelope(t - path_m / C) * np.exp(-2j * np.pi * FC * path_m / C)


def _peak(profile: np.ndarray) -> float:
    return float(np.argmax(np.abs(profile)) * sweep_render.CELL_M)


def test_noise_alone_has_unit_variance_in_the_profiles() -> None:
    rng = np.random.default_rng(3)
    n = int(2.0 * sweep_render.RATE)
    z = 0.7 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    _, p = sweep_render.profiles(z, SWEEPS, 0, 2 * 0.7**2, c=C)
    assert abs(np.mean(np.abs(p) ** 2) - 1.0) < 0.05


def test_a_still_path_is_compressed_at_its_length_with_the_matched_filters_gain() -> None:
    """Peak at the path's length; height A·Σw / sqrt(variance·Σw²) for Hann weights w."""
    t = np.arange(int(1.0 * sweep_render.RATE)) / sweep_render.RATE
    z = 1e-3 * _echo(np.full(t.size, 4.2), t)
    _, p = sweep_render.profiles(z, SWEEPS, 0, 1e-8, c=C)
    assert abs(_peak(p[5]) - 4.2) <= sweep_render.CELL_M
    w = np.hanning(round(0.010 * sweep_render.RATE))
    expected = 1e-3 * w.sum() / math.sqrt(1e-8 * np.sum(w**2))
    assert np.abs(p[5]).max() == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("rate", [-2.0, 2.0])
def test_a_moving_path_appears_where_the_lfm_coupling_puts_it(rate: float) -> None:
    """A path changing at `rate` m/s: fc·T/B·rate further (range_profiles.lfm_shift)."""
    t = np.arange(int(1.0 * sweep_render.RATE)) / sweep_render.RATE
    path = 6.0 + rate * t
    _, p = sweep_render.profiles(_echo(path, t), SWEEPS, 0, 1e-8, c=C)
    k = 10
    middle = k * 0.04 + 0.005  # the sweep's middle, emitted; its echo is heard ℓ/c later
    true = 6.0 + rate * (middle + (6.0 + rate * middle) / C)
    shift = rate * FC * 0.010 / 8000.0
    assert abs(_peak(p[k]) - (true + shift)) <= 2 * sweep_render.CELL_M


def test_a_rendered_walker_moves_where_the_frame_level_model_has_them() -> None:
    """render_band end to end against range_profiles.range_frames on the same scene: the
    strongest sweep-to-sweep change (the canceller's view) lies on the same path, here a
    wall image of the walker (7.7 m) rather than their direct path (7.0 m)."""
    from range_profiles import range_frames

    from uspd.sim.library import random_scenario
    from uspd.sim.people import WalkingPerson
    from uspd.sim.render import Renderer

    scenario = random_scenario("walk", 8100039, duration_s=12.0, sample_rate=96000, n_mics=4)
    walker = next(a for a in scenario.actors if isinstance(a, WalkingPerson))
    t0 = round(((walker.start_s + min(walker.end_s, 12.0)) / 2 - 0.5) / 0.04) * 0.04
    z, _, variance = sweep_render.render_band(scenario, SWEEPS, span=(t0, t0 + 1.0))
    starts, p = sweep_render.profiles(z, SWEEPS, 0, variance, c=Renderer(scenario).c, t0=t0)
    frames = range_frames(scenario, sweep_s=0.010, period_s=0.04)
    model = sum(frames.profiles.values())
    k = 10
    at = round(starts[k] / 0.04)
    sample_level = _peak(np.diff(p, axis=0)[k])
    frame_level = _peak(np.diff(model, axis=0)[at])
    assert abs(sample_level - frame_level) <= 2 * sweep_render.CELL_M
