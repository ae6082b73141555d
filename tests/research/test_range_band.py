"""The range-band feasibility statistic (research/range_band, not shipped) tells a body
that moves from one range to another from a rotor that stays where it is."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

RESEARCH = Path(__file__).parents[2] / "research" / "range_band"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, RESEARCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


translation = _load("translation")

SWEEP_S = 0.04
CELL_M = 0.02
FC_HZ = 30000.0
C = 343.0


def _profiles(paths: np.ndarray, amplitude: float, seed: int) -> np.ndarray:
    """(sweeps, cells) profiles of point echoes at path lengths `paths` (sweeps, points):
    each a compressed pulse three cells wide with the carrier phase of its path, + noise."""
    sweeps, cells = paths.shape[0], 800
    y = np.zeros((sweeps, cells), np.complex128)
    for k in range(sweeps):
        for length in paths[k]:
            cell = round(length / CELL_M)
            phase = np.exp(-2j * np.pi * FC_HZ * length / C)
            for off, w in ((-1, 0.5), (0, 1.0), (1, 0.5)):
                if 0 <= cell + off < cells:
                    y[k, cell + off] += amplitude * w * phase
    rng = np.random.default_rng(seed)
    return y + (rng.standard_normal(y.shape) + 1j * rng.standard_normal(y.shape)) / np.sqrt(2)


def _score(paths: np.ndarray) -> float:
    motion = translation.motion_map(_profiles(paths, 30.0, 1))
    return float(translation.translation_score(motion).max())


@pytest.mark.parametrize("speed", [0.5, 1.0, 1.6])
def test_a_walker_translating_scores_high(speed: float) -> None:
    t = np.arange(100) * SWEEP_S  # 4 s
    paths = (9.0 - 2 * speed * t)[:, None]  # approaching: the path shortens at 2v
    assert _score(paths) > 12.0


def test_a_rotor_that_stays_put_scores_low_running_and_spinning_up() -> None:
    t = np.arange(250) * SWEEP_S  # 10 s: off for 3 s, then on
    angle = 2 * np.pi * 12.0 * t[:, None] + np.arange(3)[None, :] * 2 * np.pi / 3
    blades = 4.0 + 0.4 * np.sin(angle)  # three blade tips ±0.2 m in range about 2 m
    on = (t >= 3.0)[:, None]
    paths = np.where(on, blades, 50.0)  # off: beyond the profiles
    assert _score(paths) < 6.0


def test_the_joint_score_keeps_lines_both_sweeps_see_at_the_same_range() -> None:
    """A walker's image moves by fc·T/B·v: within a bin for both sweep lengths. A fast
    blade's image lands at different ranges for each, and the joint score drops it."""
    t = np.arange(100) * SWEEP_S
    walker = (9.0 - 2.0 * t)[:, None]
    maps_same = [
        translation.motion_map(_profiles(walker + d, 30.0, s)) for s, d in ((1, 0.0), (2, 0.04))
    ]
    maps_apart = [
        translation.motion_map(_profiles(walker + d, 30.0, s)) for s, d in ((1, 0.0), (2, 1.5))
    ]
    # a line seen by one sweep only: the other sees the same line 1.5 m away, never the same cells
    assert translation.joint_translation_score(maps_same).max() > 12.0
    assert translation.joint_translation_score(maps_apart).max() < 6.0
