"""How much of one CPU core a sensor's pipeline takes, measured where it runs.

`uspd bench --compute-only` measures the pipeline on this project's machine; a user's
Raspberry Pi or NUC is another matter, and a host that cannot keep up only shows itself
as audio dropouts. So the runner times its own work: CPU seconds of the worker thread
spent processing per second of audio, over the last LOAD_WINDOW_S. 100 % means the
pipeline needs the whole core and will fall behind; a few percent leaves room for more
rooms and the rest of Home Assistant.
"""

from __future__ import annotations

import collections

LOAD_WINDOW_S = 30.0
"""Audio over which the load is averaged: long enough that one slow block (garbage
collection, a recalibration) does not move it, so the sensor changes rarely."""
LOAD_MIN_S = 5.0
"""Audio measured before a load is reported: the first blocks pay one-off costs (model
load, caches) that are not the steady load."""
_EPS_S = 1e-9
"""Slack for sums of block durations (twenty 0.05 s blocks add up to 0.9999999…)."""
RESUM_EVERY = 1024
"""Blocks between exact re-sums of the window (a few µs each time)."""


class LoadMeter:
    """Running CPU load over a window of audio (not thread-safe: one worker feeds it)."""

    def __init__(self, window_s: float = LOAD_WINDOW_S, min_s: float = LOAD_MIN_S) -> None:
        """Empty: no load known yet."""
        self.window_s = window_s
        self.min_s = min_s
        self._blocks: collections.deque[tuple[float, float]] = collections.deque()
        self._audio_s = 0.0
        self._cpu_s = 0.0
        self._measured_s = 0.0  # all audio ever measured (for min_s)
        self._adds = 0

    def add(self, audio_s: float, cpu_s: float) -> None:
        """One processed block: its audio duration and the CPU time it took."""
        if audio_s <= 0.0:
            return
        self._blocks.append((audio_s, cpu_s))
        self._audio_s += audio_s
        self._cpu_s += cpu_s
        self._measured_s += audio_s
        while (
            len(self._blocks) > 1 and self._audio_s - self._blocks[0][0] >= self.window_s - _EPS_S
        ):
            old_audio, old_cpu = self._blocks.popleft()
            self._audio_s -= old_audio
            self._cpu_s -= old_cpu
        self._adds += 1
        if self._adds % RESUM_EVERY == 0:  # running sums drift by rounding over days
            self._audio_s = sum(a for a, _ in self._blocks)
            self._cpu_s = sum(c for _, c in self._blocks)

    @property
    def percent(self) -> float | None:
        """CPU time per audio time over the window, % of one core (None until min_s)."""
        if self._measured_s < self.min_s - _EPS_S or self._audio_s <= 0.0:
            return None
        return 100.0 * max(self._cpu_s, 0.0) / self._audio_s
