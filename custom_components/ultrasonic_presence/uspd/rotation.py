"""Is the Doppler energy that just appeared a rotation (a fan) or a net movement (a person)?

Physics: every point of a spinning rotor has a partner half a turn away moving with the
opposite radial velocity, so a fan's Doppler reaches equally far to both sides of the
carrier ("periodic, spectrally symmetric signatures", ../shared/notes/physics.md). A
walker translates: trunk, thighs, shanks and feet all move the same way (Boulic gait:
only the arms swing back, and slower), so most of the new energy lies on one side.

What it decides against: a floor fan spinning up sweeps its blades through walking
speeds for about a second, and the classifier sometimes calls that major motion. Before
this test, every floor-fan false alarm in the benchmark and development suites was such
a spin-up (docs/bench/HISTORY.md). Measured there with the shipped model, over the frames the
classifier calls major (p ≥ 0.45) in the 3 s after a fan switches on (121 switch-ons):
the new energy's balance is ≥ 0.82 in 90 % of them; over the frames it calls major
in walk-ins (19,738 frames), ≥ ROTATION_BALANCE in 6.5 %.

"New" energy: each frame's motion plane (dBc/Hz per velocity bin) in excess of the
per-bin median of the frames BACKGROUND_FROM_S … BACKGROUND_TO_S before it. So a fan
that already runs is background, and a person walking in beside it is judged on what
they add, not on the fan. The excess is summed in dB per side (receding, approaching);
the balance is the smaller sum over the larger: 1 for a perfectly mirror-symmetric
onset, 0 for one-sided motion. Summed in dB rather than in power, how far the energy
reaches counts more than its strongest lines: a blade's specular flash makes one side of
a fan louder, not wider (in power, the spin-ups measured balances of 0.2–0.75).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .dsp.features import BINS_PER_SIGN, FRAME_HOP_S, N_BINS

BACKGROUND_FROM_S = 3.0
BACKGROUND_TO_S = 1.0
"""The background is the median of the frames from 3 s to 1 s ago: long enough ago that a
fan's spin-up (≈ 1 s through walking speeds) is not yet in it, recent enough that the
room's steady movers (a running fan, HVAC) are."""
ROTATION_BALANCE = 0.8
"""A frame whose new energy is at least this balanced is rotation-like. Chosen on the
development suite (seeds 8,000,000+, neither training's nor the benchmark's): over 10.2 h
of empty rooms and 208 more rooms with a floor fan switched on, 0.8 leaves none of their
11 floor-fan alarms (0.85: 1, 0.9: 5) and, with the detector's override where the
classifier is sure of a person, none of the 250 walk-ins within 4 m is lost
(docs/bench/HISTORY.md)."""

BACKGROUND_EVERY = 5
"""Frames between background updates (0.25 s): the median of 40 frames moves slowly, and
taking it every frame made this test 7× dearer (51 against 7 µs a frame)."""

_FROM = round(BACKGROUND_FROM_S / FRAME_HOP_S)
_TO = round(BACKGROUND_TO_S / FRAME_HOP_S)


def fan_like(balance: float, *, music: bool) -> bool:
    """A frame with this balance is fan-like (the detector's `rotating`).

    Not while music plays through the sensing speaker: its distortion sidebands lie at
    ± the bass frequencies, mirror-symmetric too, so what the canceller leaves of them
    makes a walker's onset look fan-like. Measured on the benchmark's walk-ins (scale
    10): with the test on music frames too, latency p95 1.10 s instead of 0.95 s (three
    walkers in music found 0.4-1.8 s later); the development suite's fan alarms are
    gone either way, as its fans switch on without music.
    """
    return balance >= ROTATION_BALANCE and not music


class NewEnergyBalance:
    """Streaming: feed each frame's motion plane in order; get the balance of its new energy.

    Frames without evidence (no carrier, emission off) are not fed: the background is
    always made of frames that were really measured. Until a frame has history, its
    balance is 0 (nothing known to be symmetric). The background is taken every
    BACKGROUND_EVERY frames (counted from the first), so frame n is compared with the
    frames BACKGROUND_FROM_S … BACKGROUND_TO_S before the latest multiple of it.
    """

    def __init__(self) -> None:
        """No history yet."""
        # The last _FROM frames stored twice over (as features.ContextWindow does), so
        # any run of them is one contiguous slice.
        self._ring = np.zeros((2 * _FROM, N_BINS), dtype=np.float64)
        self._seen = 0
        self._background = np.zeros(N_BINS, dtype=np.float64)

    def update(self, motion: npt.ArrayLike) -> float:
        """Balance (0..1) of frame `motion` (N_BINS dBc/Hz values) over its background."""
        row = np.asarray(motion, dtype=np.float64)
        seen = self._seen
        balance = 0.0
        if seen:
            if seen == 1 or seen % BACKGROUND_EVERY == 0:
                # Frames seen − _FROM … seen − _TO − 1 (at least the oldest one kept).
                first = max(0, seen - _FROM)
                count = max(1, seen - _TO - first)
                start = first % _FROM
                self._background = _median_rows(self._ring[start : start + count])
            excess = row - self._background
            np.maximum(excess, 0.0, out=excess)
            receding = float(excess[:BINS_PER_SIGN].sum())
            approaching = float(excess[BINS_PER_SIGN:].sum())
            larger = max(receding, approaching)
            if larger > 0.0:
                balance = min(receding, approaching) / larger
        slot = seen % _FROM
        self._ring[slot] = self._ring[slot + _FROM] = row
        self._seen = seen + 1
        return balance


def _median_rows(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """np.median(rows, axis=0), the same values for a quarter of its cost on 40 × 64 (a
    sort: on so few rows it beats np.partition, and np.median's wrapper)."""
    n = rows.shape[0]
    ordered = np.sort(rows, axis=0)
    if n % 2:
        middle: npt.NDArray[np.float64] = ordered[n // 2]
        return middle
    mean: npt.NDArray[np.float64] = (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0
    return mean
