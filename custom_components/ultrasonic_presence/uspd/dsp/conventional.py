"""Conventional Doppler-energy motion detector: the benchmark baseline and a fallback.

SoundWave / UltraSense style [physics notes, Prior art]: energy in the Doppler band
outside the static-clutter gap, compared with an adaptive noise floor, with
hysteresis. The floor follows drops quickly and rises slowly, and is frozen while
motion is on, so a person who keeps moving is not absorbed into it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .features import FEATURE_FLOOR_DB, FRAME_HOP_S, PLANE_MOTION, velocity_centers

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ConventionalOptions:
    """Thresholds in dB above the noise floor; times in seconds."""

    on_db: float = 6.0
    off_db: float = 3.0
    min_speed_mps: float = 0.15  # below: breathing, drift, clutter leakage
    on_frames: int = 2  # consecutive frames above on_db to switch on
    off_frames: int = 10  # consecutive frames below off_db to switch off
    floor_fall_s: float = 1.0
    floor_rise_db_per_s: float = 0.5
    floor_rise_in_motion_db_per_s: float = 0.05


@dataclass(frozen=True)
class ConventionalOutput:
    """Per-frame result."""

    score_db: FloatArray  # band energy above the adaptive floor, dB
    motion: BoolArray  # hysteresis decision


class ConventionalDetector:
    """Streaming: feed feature frames (n, N_BINS, N_PLANES) in order with `update`."""

    def __init__(self, options: ConventionalOptions | None = None) -> None:
        self.options = options or ConventionalOptions()
        self._bins = np.abs(velocity_centers()) >= self.options.min_speed_mps
        self._fall = 1.0 - math.exp(-FRAME_HOP_S / self.options.floor_fall_s)
        self._rise = self.options.floor_rise_db_per_s * FRAME_HOP_S
        self._rise_in_motion = self.options.floor_rise_in_motion_db_per_s * FRAME_HOP_S
        self.floor_db: float | None = None
        self.motion = False
        self._run = 0  # consecutive frames arguing for a state change

    def band_energy_db(self, features: npt.ArrayLike) -> FloatArray:
        """Mean motion-plane density over the moving-speed bins, dBc/Hz, per frame."""
        plane = np.asarray(features, dtype=np.float64)[:, self._bins, PLANE_MOTION]
        energy: FloatArray = 10.0 * np.log10(np.mean(10.0 ** (plane / 10.0), axis=1))
        return energy

    def update(
        self, features: npt.ArrayLike, valid: npt.ArrayLike | None = None
    ) -> ConventionalOutput:
        """Score and decide each frame; frames not `valid` (no carrier, unsettled) hold."""
        x = np.asarray(features, dtype=np.float64)
        energy = self.band_energy_db(x)
        # Frames the chain blanked (no carrier) carry no evidence either.
        ok = np.any(x[:, :, PLANE_MOTION] > FEATURE_FLOOR_DB, axis=1)
        if valid is not None:
            ok &= np.asarray(valid, dtype=np.bool_)
        scores = np.zeros(energy.size)
        motion = np.zeros(energy.size, dtype=np.bool_)
        o = self.options
        for i, e in enumerate(energy):
            if not ok[i]:
                motion[i] = self.motion
                continue
            if self.floor_db is None:
                self.floor_db = float(e)
            score = float(e) - self.floor_db
            want = score > o.on_db if not self.motion else score > o.off_db
            self._run = self._run + 1 if want != self.motion else 0
            if self._run >= (o.on_frames if not self.motion else o.off_frames):
                self.motion, self._run = want, 0
            if score < 0.0:
                self.floor_db += self._fall * score
            else:
                self.floor_db += min(score, self._rise_in_motion if self.motion else self._rise)
            scores[i], motion[i] = score, self.motion
        return ConventionalOutput(score_db=scores, motion=motion)
