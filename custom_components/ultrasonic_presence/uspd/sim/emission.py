"""The emission schedule: which carrier and level the speaker plays from which sample.

`set_emission` appends a segment at the current read position; the carrier phase stays
continuous across frequency changes. Rendering reads the schedule as a pure function,
so the same schedule gives the same samples whatever the block sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """Emission from output sample `start` on: carrier (None = silent), level, start phase."""

    start: int
    carrier_hz: float | None
    level_dbfs: float
    phase: float


class EmissionSchedule:
    """Append-only list of emission segments."""

    def __init__(self, sample_rate: int, carrier_hz: float | None, level_dbfs: float) -> None:
        self.sample_rate = sample_rate
        self.segments: list[Segment] = [Segment(0, carrier_hz, level_dbfs, 0.0)]

    def set(self, at_sample: int, carrier_hz: float | None, level_dbfs: float) -> None:
        """Change emission from `at_sample` (≥ the last change) on."""
        last = self.segments[-1]
        if at_sample < last.start:
            raise ValueError("emission changes must be in time order")
        phase = last.phase
        if last.carrier_hz is not None:
            cycles = last.carrier_hz * (at_sample - last.start) / self.sample_rate
            phase = (last.phase + 2 * math.pi * (cycles % 1.0)) % (2 * math.pi)
        seg = Segment(at_sample, carrier_hz, level_dbfs, phase)
        if at_sample == last.start:
            self.segments[-1] = Segment(at_sample, carrier_hz, level_dbfs, last.phase)
        else:
            self.segments.append(seg)

    def prune(self, before: int) -> None:
        """Forget segments that ended before sample `before` (hours of duty cycling)."""
        while len(self.segments) > 1 and self.segments[1].start <= before:
            self.segments.pop(0)

    def between(self, n0: int, n1: int) -> list[tuple[int, int, Segment]]:
        """Segments overlapping output samples [n0, n1) as (start, end, segment)."""
        out = []
        for i, seg in enumerate(self.segments):
            end = self.segments[i + 1].start if i + 1 < len(self.segments) else n1
            lo, hi = max(seg.start, n0), min(end, n1)
            if hi > lo:
                out.append((lo, hi, seg))
        return out

    def at(self, n: int) -> Segment:
        """The segment in force at output sample n."""
        seg = self.segments[0]
        for s in self.segments:
            if s.start <= n:
                seg = s
        return seg
