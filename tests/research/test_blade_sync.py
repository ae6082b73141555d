"""Blade-synchronous cancelling (research/blade_sync, not shipped): a rotor's echo repeats
every blade pass, so it can be tracked and predicted away; what does not repeat stays."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[2] / "research" / "blade_sync"))
blade_sync = importlib.import_module("blade_sync")

FS = 4000.0
CARRIER_HZ = 40000.0
SECONDS = 6.0


def _rotor(period_s: float, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A broadband echo repeating every `period_s` (lines k/period out to ±1.5 kHz, as
    blade tips at ≈ 6 m/s give at 40 kHz), its phase turned by an oscillating head."""
    k = np.arange(-int(1500 * period_s), int(1500 * period_s) + 1)
    k = k[k != 0]
    coeffs = (rng.normal(size=k.size) + 1j * rng.normal(size=k.size)) * 1e-3
    echo = np.exp(2j * np.pi * np.outer(t, k / period_s)) @ coeffs
    return echo * np.exp(2j * np.pi * 3.0 * np.sin(2 * np.pi * 0.2 * t))


def _scene(seed: int, *, rotor: bool, walker: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECONDS * FS)) / FS
    echo = np.zeros(t.size, complex)
    if rotor:
        echo += _rotor(1.0 / 45.0, rng, t)
    if walker:
        echo += 3e-4 * np.exp(2j * np.pi * 157.5 * t)  # midway between lines 135 and 180 Hz
    noise = (rng.normal(size=(4, t.size)) + 1j * rng.normal(size=(4, t.size))) * 1e-5
    phases = np.exp(1j * rng.uniform(0, 2 * np.pi, 4))[:, None]
    x = 0.1 * phases * (1.0 + echo[None, :]) + noise
    return x, t


def _tone_power(x: np.ndarray, t: np.ndarray, hz: float, after_s: float) -> float:
    _, r = blade_sync.normalized(x, FS)
    sel = t > after_s
    return float(np.mean(np.abs(r[:, sel] @ np.exp(-2j * np.pi * hz * t[sel])) ** 2))


def test_a_rotor_period_is_tracked_and_its_echo_predicted_away() -> None:
    x, t = _scene(1, rotor=True, walker=True)
    _, r = blade_sync.normalized(x, FS)
    lag, active = blade_sync.estimated_lag(r, FS, t, CARRIER_HZ)
    steady = t > 1.0
    assert active[steady].mean() > 0.95
    assert np.median(np.abs(lag[steady & active] - 1.0 / 45.0)) < 20e-6  # µs: deep cancelling
    y = blade_sync.cancel(x, FS, t, lag, active)
    _, before = blade_sync.normalized(x, FS)
    _, after = blade_sync.normalized(y, FS)
    # The comb (a line at 45 Hz) goes; the walker's line midway between two stays.
    comb_drop = _tone_power(x, t, 45.0, 2.0) / _tone_power(y, t, 45.0, 2.0)
    walker_kept = _tone_power(y, t, 157.5, 2.0) / _tone_power(x, t, 157.5, 2.0)
    assert 10 * np.log10(comb_drop) > 15.0
    # A comb filter passes a line midway between its notches with gain 1–2 (≤ +6 dB).
    assert -3.0 < 10 * np.log10(walker_kept) < 6.5
    assert np.mean(np.abs(after[:, t > 2]) ** 2) < 0.2 * np.mean(np.abs(before[:, t > 2]) ** 2)


def test_nothing_is_tracked_without_a_rotor() -> None:
    """Noise alone, or a walker's steady line alone: no comb beyond limb speeds, no
    cancelling, the signal unchanged."""
    for walker in (False, True):
        x, t = _scene(2, rotor=False, walker=walker)
        _, r = blade_sync.normalized(x, FS)
        lag, active = blade_sync.estimated_lag(r, FS, t, CARRIER_HZ)
        assert not active.any()
        np.testing.assert_allclose(blade_sync.cancel(x, FS, t, lag, active), x, rtol=1e-12)


def test_the_fan_music_clearing_scene_adds_a_running_fan_and_music() -> None:
    """research/blade_sync/fan_music_clearing.py: the development walk-sit-leave scene,
    the same each time, with a fan that runs throughout and music."""
    clearing = importlib.import_module("fan_music_clearing")
    first, again = clearing.scene(8_200_000), clearing.scene(8_200_000)
    kinds = [type(a).__name__ for a in first.scenario.actors]
    assert {"FloorFan", "Music", "SeatedPerson"} <= set(kinds)
    assert first.scenario == again.scenario
    music_only = clearing.scene(8_200_000, fan=False)
    assert [type(a).__name__ for a in music_only.scenario.actors] == [
        k for k in kinds if k != "FloorFan"
    ]
