"""The one interface every audio source implements: simulated room, WAV, sound card, node.

Blocks are float32 arrays shaped (frames, channels), full scale = ±1.0. Emission is
the ultrasonic carrier the source plays: calibration sweeps it, the detector's duty
cycle pauses it, the emission switch turns it off. Sources raise `SourceError` (with a
message meant for users) when hardware disappears or data is unusable; the pipeline
turns that into "unavailable" and the owner reopens with backoff.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

AudioBlock = npt.NDArray[np.float32]


class SourceError(Exception):
    """The source cannot deliver audio (unplugged, closed, corrupt data...).

    `code` is a stable machine-readable reason that adapters map to their own messages
    (Home Assistant config-flow errors, repair issues): one of ERROR_CODES.
    """

    def __init__(self, message: str, code: str = "disconnected") -> None:
        """Keep the user-facing message and the machine-readable code."""
        if code not in ERROR_CODES:
            raise ValueError(f"unknown SourceError code {code!r}")
        super().__init__(message)
        self.code = code


ERROR_CODES = frozenset(
    {
        "device_not_found",  # no such sound card / node unreachable
        "sample_rate_too_low",  # the card cannot run at an ultrasonic-capable rate
        "no_ultrasonic_response",  # the mic hears nothing of the emitted carrier
        "disconnected",  # was working, stopped delivering (unplugged, network cut)
        "corrupt",  # data arrived but cannot be used (bad WAV, malformed frame)
        "auth_failed",  # a sensor node rejected our key (or we rejected its)
    }
)


@runtime_checkable
class AudioSource(Protocol):
    """A full-duplex ultrasonic front: it emits a carrier and records the microphones."""

    @property
    def sample_rate(self) -> int:
        """Samples per second per channel."""
        ...

    @property
    def channels(self) -> int:
        """Number of microphones (1..8)."""
        ...

    def read(self, frames: int) -> AudioBlock:
        """Return the next `frames` samples, shape (frames, channels); may block."""
        ...

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        """Emit a carrier at `carrier_hz` with peak `level_dbfs` (0 = full-scale sine).

        `carrier_hz=None` silences the emitter. Takes effect at the next sample read.
        """
        ...

    def close(self) -> None:
        """Release the hardware; reading afterwards raises SourceError."""
        ...
