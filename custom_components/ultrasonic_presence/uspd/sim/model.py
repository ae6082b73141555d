"""What every scene element exposes to the renderer and to the ground truth.

Scenario entries are frozen dataclasses (the description); `build(ctx)` turns one into a
model with its random draws made once, so rendering is a pure function of time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from .scene import Room

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int8]

MOTION_NAMES: tuple[str, ...] = ("none", "still", "minor", "major")
STILL, MINOR, MAJOR = 1, 2, 3


@dataclass(frozen=True)
class BuildContext:
    """What a scene element needs to draw its random parameters and place itself."""

    room: Room
    device_center: FloatArray
    duration_s: float
    rng: np.random.Generator
    seed: int


@dataclass
class ActorTruth:
    """Per-frame ground truth contributed by one element (arrays over frame times)."""

    person: BoolArray | None = None
    motion: IntArray | None = None
    position: FloatArray | None = None
    pet: BoolArray | None = None
    labels: dict[str, BoolArray] = field(default_factory=dict)


@runtime_checkable
class ScatterModel(Protocol):
    """A set of moving point scatterers (body parts, fan blades, curtain patches)."""

    decimation: int

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Positions (S, T, 3) in m and amplitudes sqrt(σ/4π) in m (S, T) at times t."""
        ...

    def truth(self, t: FloatArray) -> ActorTruth:
        """Ground truth at frame times t."""
        ...


@runtime_checkable
class TruthModel(Protocol):
    """Anything that contributes ground truth (all models do)."""

    def truth(self, t: FloatArray) -> ActorTruth:
        """Ground truth at frame times t."""
        ...


def fade(t: FloatArray, start: float, end: float, ramp: float = 0.3) -> FloatArray:
    """0→1→0 presence weight: people appear and vanish behind a door frame, not in a click."""
    up = np.clip((t - start) / ramp, 0.0, 1.0)
    down = np.clip((end - t) / ramp, 0.0, 1.0)
    w = np.minimum(up, down)
    return np.asarray(np.sin(0.5 * np.pi * w) ** 2, dtype=np.float64)
