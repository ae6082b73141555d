"""On-demand ranging through the one speaker: the tone steps aside for a burst of sweeps.

Not the engine and not shipped. The last sections of docs/bench/HISTORY.md found that a
sweep band played *beside* the tone is audible (difference products) and a sweep that
*gates* the tone all the time puts images into the tone's Doppler features. Neither
holds for a sweep played only now and then: when the room is empty and the classifier
has seen weak, unresolved motion for a while (what a walker beside a fan looks like),
the tone stops for BURST_S, one constant-envelope run of sweeps ranges the room, and the
tone comes back. A translating reflector is then a line through range and time; a rotor
stays at its range however its blades turn.

What it costs: the tone's evidence for BURST_S plus the pipeline's warm-up after a gap
(uspd.pipeline.WARMUP_S), in which nothing the tone sees can turn an empty room occupied.

The burst has no range history from before it, so "new" is against the burst itself: a
cell is new by how far it exceeds its own median over the burst's frames (a walker
passes a 10 cm cell in one frame of 0.2 s, a fan sits in it in all of them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from range_profiles import RangeFrames, noise, range_frames
from translation import FRAME_S, joint_translation_score, motion_map

from uspd.sim.scenario import Scenario

FloatArray = npt.NDArray[np.float64]

BURST_S = 1.05
"""Five 0.2 s frames of sweep-to-sweep change (26 sweeps of 40 ms): the translation
line's length (translation.LINE_FRAMES)."""


@dataclass(frozen=True)
class BurstSweeps:
    """The sweeps of one burst: each (sweep s, period s, offset s) of one 8 kHz band."""

    name: str
    sweeps: tuple[tuple[float, float, float], ...]


BURSTS = (
    BurstSweeps("lfm_40ms", ((0.04, 0.04, 0.0),)),
    BurstSweeps("lfm_10ms_and_5ms_every_40ms", ((0.01, 0.04, 0.0), (0.005, 0.04, 0.02))),
)
"""Back-to-back 40 ms sweeps (the most energy), or a 10 ms and a 5 ms sweep in each
40 ms (the research's best at rejecting blades: their coupled images land at other
ranges for the two lengths, a walker's within a bin)."""


def burst_newness(motion: FloatArray) -> FloatArray:
    """How far each cell exceeds its own median over the burst (dB, at most its level)."""
    median = np.median(motion, axis=0, keepdims=True)
    return np.asarray(np.minimum(motion - median, motion))


def burst_score(motions: list[FloatArray], *, wrap: bool = True) -> float:
    """The best translation line's least new value (dB) over the burst, on what is new in
    every map (as translation.joint_translation_score); -99 if the burst is too short."""
    return float(joint_translation_score(motions, wrap=wrap, novelty=burst_newness).max())


class SceneBursts:
    """A scene's range profiles for one kind of burst, computed once; bursts sliced out."""

    def __init__(self, scenario: Scenario, kind: BurstSweeps, *, static: bool = True) -> None:
        """`scenario` calibrated as the bench runs it; the sweeps at the tone's level."""
        self.kind = kind
        self.frames: list[RangeFrames] = [
            range_frames(
                scenario,
                sweep_s=sweep_s,
                period_s=period_s,
                offset_s=offset_s,
                share_db=0.0,
                static=static,
            )
            for sweep_s, period_s, offset_s in kind.sweeps
        ]
        self.seed = scenario.seed

    def score(self, start_s: float) -> float:
        """The burst starting at `start_s` (BURST_S long)."""
        motions = []
        for j, (frames, (_sweep, period, _offset)) in enumerate(
            zip(self.frames, self.kind.sweeps, strict=True)
        ):
            rows = (frames.t >= start_s) & (frames.t < start_s + BURST_S)
            if rows.sum() < 2:
                return -99.0
            total = np.sum([p[rows] for p in frames.profiles.values()], axis=0)
            shape = total.shape
            key = self.seed * 1000 + round(start_s / FRAME_S) * 8 + j  # bursts are > 3 s apart
            motions.append(motion_map(total + noise(shape, key), period))
        return burst_score(motions)
