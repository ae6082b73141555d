"""Does something translate? A range-time statistic that a rotor cannot fake.

A fan's blades stay at the fan's range however fast they turn; a walker's body moves
from one range to another. Per 0.2 s frame, the motion map is the sweep-to-sweep change
of the range profiles (a two-pulse canceller removes everything static), in dB over the
noise, on 10 cm cells. A cell is *new* by how much it exceeds the same cell 0.4 and 0.6 s
before. The score of a frame is the best straight line through the last second (five
frames) at a path-length rate of 0.6-4 m/s (a walker at 0.3-2 m/s, both directions) of
the least new value along it: every frame of the line must show energy where there was
none half a second before. Energy that appears everywhere at once (a spin-up) is new
in one frame only; energy that stays (a running fan) is never new.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

CELLS_PER_BIN = 5  # 2 cm profile cells → 10 cm
FRAME_S = 0.2
BIN_M = 0.1
LINE_FRAMES = 5
LAGS = (2, 3)
RATES_MPS = np.arange(0.6, 4.01, 0.2)


def motion_map(profiles: ComplexArray, period_s: float = 0.04) -> FloatArray:
    """(frames, bins) motion power in dB over the noise (≥ 0) from (sweeps, cells), sweeps
    `period_s` apart."""
    d = np.abs(np.diff(profiles, axis=0)) ** 2
    per_frame = max(1, round(FRAME_S / period_s))
    n = d.shape[0] // per_frame * per_frame
    d = d[:n].reshape(-1, per_frame, d.shape[1]).mean(1)
    m = d.shape[1] // CELLS_PER_BIN * CELLS_PER_BIN
    d = d[:, :m].reshape(d.shape[0], -1, CELLS_PER_BIN).mean(2)
    return np.asarray(10 * np.log10(d + 1.0))


def newness(motion: FloatArray) -> FloatArray:
    """How far each cell exceeds the same cell 0.4 and 0.6 s before (dB, at most its own
    level; -99 where there is no "before" yet)."""
    shifted = np.full((len(LAGS), *motion.shape), np.inf)  # inf: no frame that far back
    for i, lag in enumerate(LAGS):
        shifted[i, lag:] = motion[:-lag]
    new: FloatArray = np.minimum(motion - shifted.max(axis=0), motion)
    new[~np.isfinite(new)] = -99.0
    return new


def translation_score(motion: FloatArray, *, wrap: bool = False) -> FloatArray:
    """Per frame, the best line's least new value (dB); -99 before a line fits.

    `wrap`: the profiles fold paths beyond their span (back-to-back sweeps), so a line
    leaving one end goes on at the other."""
    return line_score(newness(motion), wrap=wrap)


def joint_translation_score(
    motions: list[FloatArray],
    *,
    wrap: bool = False,
    novelty: Callable[[FloatArray], FloatArray] = newness,
) -> FloatArray:
    """The score on what is new in *every* map: for sweeps of different slopes, whose
    range-Doppler coupling puts a fast blade's image at different ranges but a walker's
    (a few m/s) within a bin of each other. `novelty`: what counts as new (default: against
    0.4 and 0.6 s before)."""
    frames = min(m.shape[0] for m in motions)
    bins = min(m.shape[1] for m in motions)
    new = np.min([novelty(m[:frames, :bins]) for m in motions], axis=0)
    return line_score(new, wrap=wrap)


def line_score(new: FloatArray, *, wrap: bool = False) -> FloatArray:
    """Per frame, the best line's least `new` value over the last LINE_FRAMES frames."""
    frames, bins = new.shape
    score = np.full(frames, -99.0)
    start = np.arange(bins)
    for rate in np.concatenate([RATES_MPS, -RATES_MPS]):
        step = rate * FRAME_S / BIN_M
        least = np.full((frames, bins), np.inf)
        for k in range(LINE_FRAMES):
            lag = LINE_FRAMES - 1 - k  # frames back from the line's end
            cells = np.rint(start - step * lag).astype(int)
            if wrap:
                cells = np.mod(cells, bins)
            ok = (cells >= 0) & (cells < bins)
            value = np.full((frames, bins), -99.0)
            value[lag:, ok] = new[: frames - lag, cells[ok]]
            least = np.minimum(least, value)
        least[: LINE_FRAMES - 1] = -99.0
        score = np.maximum(score, least.max(axis=1))
    return score
