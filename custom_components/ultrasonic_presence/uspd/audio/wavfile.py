"""Recordings as an audio source, for `uspd analyze` and tests.

Accepts what real recorders write: 8/16/24/32-bit integer or 32/64-bit float PCM
(including WAVE_FORMAT_EXTENSIBLE), 1–8 channels, 44.1–192 kHz, at least 1 s long.
Everything else is refused with a message that says what was found and what is
needed — never a traceback or a silently wrong answer. A recording cannot change its
emission, so `set_emission` only checks that nobody expects it to.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.io import wavfile

from .source import AudioBlock, SourceError

MIN_RATE = 44_100
MAX_RATE = 192_000
MAX_CHANNELS = 8
MIN_SECONDS = 1.0


def load_wav(path: str | Path) -> tuple[int, AudioBlock]:
    """Read a WAV file as (sample_rate, float32 (frames, channels) in ±1)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file", "device_not_found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)
            rate, data = wavfile.read(path)
    except Exception as err:  # scipy's parser fails in varied ways on damaged files
        raise SourceError(f"{path}: not a readable WAV file ({err})", "corrupt") from err
    samples = _to_float(path, data)
    if samples.ndim == 1:
        samples = samples[:, np.newaxis]
    frames, channels = samples.shape
    if not MIN_RATE <= rate <= MAX_RATE:
        raise SourceError(
            f"{path}: sample rate {rate} Hz is not supported; ultrasonic sensing needs "
            f"{MIN_RATE}–{MAX_RATE} Hz",
            "sample_rate_too_low",
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise SourceError(f"{path}: {channels} channels; 1–{MAX_CHANNELS} supported", "corrupt")
    if frames < MIN_SECONDS * rate:
        raise SourceError(
            f"{path}: {frames / rate:.2f} s is too short; at least {MIN_SECONDS:g} s needed",
            "corrupt",
        )
    if not np.all(np.isfinite(samples)):
        raise SourceError(f"{path}: contains NaN or infinite samples", "corrupt")
    return int(rate), samples


def _to_float(path: Path, data: npt.NDArray[np.generic]) -> AudioBlock:
    """Integer PCM → ±1 floats (24-bit arrives left-justified in int32 from scipy)."""
    if data.dtype == np.uint8:
        return ((data.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if data.dtype == np.int16:
        return (data.astype(np.float32) / np.float32(32768.0)).astype(np.float32)
    if data.dtype == np.int32:
        return (data.astype(np.float64) / 2147483648.0).astype(np.float32)
    if data.dtype in (np.float32, np.float64):
        return data.astype(np.float32)
    raise SourceError(
        f"{path}: sample format {data.dtype} is not supported "
        "(use 16/24/32-bit integer or 32-bit float PCM)",
        "corrupt",
    )


class WavSource:
    """Plays a loaded recording through the AudioSource interface, then raises at the end."""

    def __init__(self, path: str | Path) -> None:
        """Load the whole file (recordings for analysis are short)."""
        self.path = Path(path)
        self._rate, self._data = load_wav(self.path)
        self._pos = 0
        self._closed = False

    @property
    def sample_rate(self) -> int:
        """Rate of the recording."""
        return self._rate

    @property
    def channels(self) -> int:
        """Microphones in the recording."""
        return int(self._data.shape[1])

    @property
    def frames_left(self) -> int:
        """Samples per channel not read yet."""
        return int(self._data.shape[0] - self._pos)

    @property
    def samples(self) -> AudioBlock:
        """The whole recording (for carrier detection)."""
        return self._data

    def read(self, frames: int) -> AudioBlock:
        """Next block; shorter at the end; SourceError once exhausted or closed."""
        if self._closed:
            raise SourceError(f"{self.path}: closed", "disconnected")
        if self._pos >= self._data.shape[0]:
            raise SourceError(f"{self.path}: end of recording", "disconnected")
        block = self._data[self._pos : self._pos + frames]
        self._pos += block.shape[0]
        return block

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        """A recording's emission is fixed; accepted so the pipeline code stays the same."""

    def close(self) -> None:
        """Nothing to release."""
        self._closed = True
