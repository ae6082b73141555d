"""Was there just an emitted ultrasonic burst (keys, clatter) in what the classifier sees?

Physics: a person's echo is shifted by at most the speed of their fastest part, the
ankle at 4.65 m/s in walking [Boulic 1990]. Ultrasound *emitted* in the room — a key
jingle's metallic partials reach 60 kHz (../shared/notes/physics.md), a door's crack —
is not an echo of the carrier and is not bound to that band: it also fills the baseband
beyond any human speed, the guard band the DSP measures (FeatureFrames.guard_level_db,
|v| ≥ GUARD_MIN_MPS).

Why the detector needs it: the partials that fall inside the Doppler band read as a
loud, one-sided smear. The classifier does not call the jingle itself major motion, but
its 1.2 s context (CONTEXT_FRAMES) then holds that smear: in the benchmark's only
curtain alarms, a curtain that starts to sway 1.4 s after a jingle was called major
(p 0.53–0.61) while the jingle was still in the context; rendered without the jingle
the room raises none and p(major) stays ≤ 0.30 (docs/bench/HISTORY.md). So for as long
as the context holds a burst, the classifier's reading is not evidence that someone
came in: like warm-up, it cannot turn an empty room occupied; an occupied room stays so.

A burst is a frame whose guard-band power is BURST_RISE_DB above its background, the
median of the frames BACKGROUND_FROM_S … BACKGROUND_TO_S before it (as in
uspd.rotation): a running fan's blade tips, which also reach beyond human speeds, are
background; a jingle rises 25–30 dB within a frame.
"""

from __future__ import annotations

import math

from .dsp.features import CONTEXT_FRAMES, FRAME_HOP_S

BURST_RISE_DB = 12.0
"""Guard-band rise over its background that marks a burst (dB). A jingle rises 25–30 dB;
half of that leaves room for weaker partials. Checked on the development suite (seeds
8,000,000+): 0.4–1.5 % of an empty room's time is marked (bursts, fans switching on),
the same 249 of 250 walk-ins within 4 m are found (p95 1.03 s against 1.03 s), seated
continuity is unchanged (docs/bench/HISTORY.md)."""
BACKGROUND_FROM_S = 3.0
BACKGROUND_TO_S = 1.0
BACKGROUND_EVERY = 5
"""Frames between background updates (0.25 s), as uspd.rotation: a median of 40 values
moves slowly."""
TAINT_FRAMES = CONTEXT_FRAMES
"""Frames after a burst during which the classifier's context still holds it."""

_FROM = round(BACKGROUND_FROM_S / FRAME_HOP_S)
_TO = round(BACKGROUND_TO_S / FRAME_HOP_S)


class BurstTracker:
    """Streaming: feed each measured frame's guard-band level (dBc) in order.

    Frames without evidence (no carrier, emission off) are not fed, so the background is
    made of measured frames only. Until BACKGROUND_FROM_S − BACKGROUND_TO_S of history
    exists no frame is a burst (the start-up is warm-up anyway). Plain Python floats: one
    value per frame, where numpy's per-call cost would be most of the work.
    """

    def __init__(self) -> None:
        """No history yet."""
        # The last _FROM levels stored twice over (as uspd.rotation does), so any run of
        # them is one contiguous slice.
        self._ring = [0.0] * (2 * _FROM)
        self._seen = 0
        self._background = math.inf
        self._since_burst = TAINT_FRAMES

    def update(self, guard_db: float) -> bool:
        """True while a burst lies within the classifier's context (this frame or the
        TAINT_FRAMES − 1 before it)."""
        seen = self._seen
        if seen > _FROM - _TO and (seen % BACKGROUND_EVERY == 0 or self._background == math.inf):
            # The levels of frames seen − _FROM … seen − _TO − 1 (fewer at the start).
            first = max(0, seen - _FROM)
            start = first % _FROM
            ordered = sorted(self._ring[start : start + seen - _TO - first])
            half, odd = divmod(len(ordered), 2)
            self._background = ordered[half] if odd else (ordered[half - 1] + ordered[half]) / 2
        burst = guard_db - self._background >= BURST_RISE_DB
        self._since_burst = 0 if burst else self._since_burst + 1
        slot = seen % _FROM
        self._ring[slot] = self._ring[slot + _FROM] = guard_db
        self._seen = seen + 1
        return self._since_burst < TAINT_FRAMES
