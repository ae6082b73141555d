"""WAV input: every format recorders write is read to ±1 floats; the rest gets a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from uspd.audio.source import SourceError
from uspd.audio.wavfile import WavSource, load_wav

RATE = 48_000


def tone(channels: int, seconds: float = 1.2, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * 20_000 * t)
    return np.repeat(x[:, None], channels, axis=1)


def write_24bit(path: Path, x: np.ndarray, rate: int) -> None:
    """scipy cannot write 24-bit: pack little-endian 3-byte samples by hand."""
    ints = np.round(x * (2**23 - 1)).astype("<i4")
    raw = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    channels = x.shape[1]
    block = 3 * channels
    header = b"RIFF" + (36 + len(raw)).to_bytes(4, "little") + b"WAVEfmt "
    header += (16).to_bytes(4, "little") + (1).to_bytes(2, "little")
    header += channels.to_bytes(2, "little") + rate.to_bytes(4, "little")
    header += (rate * block).to_bytes(4, "little") + block.to_bytes(2, "little")
    header += (24).to_bytes(2, "little") + b"data" + len(raw).to_bytes(4, "little")
    path.write_bytes(header + raw)


@pytest.mark.parametrize(
    ("dtype", "scale"),
    [(np.int16, 32767), (np.int32, 2**31 - 1), (np.float32, 1.0), (np.uint8, None)],
)
@pytest.mark.parametrize("channels", [1, 4, 8])
def test_formats_read_to_unit_floats(
    tmp_path: Path, dtype: type, scale: float | None, channels: int
) -> None:
    x = tone(channels)
    if scale is None:
        data = np.round(x * 127 + 128).astype(np.uint8)
    else:
        data = (x * scale).astype(dtype)
    path = tmp_path / "x.wav"
    wavfile.write(path, RATE, data)
    rate, y = load_wav(path)
    assert rate == RATE and y.shape == x.shape and y.dtype == np.float32
    tolerance = 1e-2 if scale is None else 1e-4
    np.testing.assert_allclose(y, x, atol=tolerance)


def test_24_bit(tmp_path: Path) -> None:
    x = tone(2, rate=96_000)
    path = tmp_path / "x24.wav"
    write_24bit(path, x, 96_000)
    rate, y = load_wav(path)
    assert rate == 96_000
    np.testing.assert_allclose(y, x, atol=1e-6)


@pytest.mark.parametrize(
    ("make", "message", "code"),
    [
        (
            lambda p: wavfile.write(p, 22_050, tone(1, rate=22_050).astype(np.float32)),
            "sample rate 22050 Hz",
            "sample_rate_too_low",
        ),
        (
            lambda p: wavfile.write(p, RATE, tone(1, seconds=0.5).astype(np.float32)),
            "too short",
            "corrupt",
        ),
        (lambda p: wavfile.write(p, RATE, tone(9).astype(np.float32)), "9 channels", "corrupt"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk"), "not a readable WAV", "corrupt"),
        (lambda p: p.write_bytes(b""), "not a readable WAV", "corrupt"),
        (
            lambda p: wavfile.write(p, RATE, np.full((RATE * 2, 1), np.nan, np.float32)),
            "NaN",
            "corrupt",
        ),
    ],
)
def test_bad_files_get_clear_errors(tmp_path: Path, make: object, message: str, code: str) -> None:
    path = tmp_path / "bad.wav"
    make(path)  # type: ignore[operator]
    with pytest.raises(SourceError, match=message) as err:
        load_wav(path)
    assert err.value.code == code


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        load_wav(tmp_path / "nope.wav")


def test_truncated_data_chunk(tmp_path: Path) -> None:
    """A recording cut off mid-write is refused, not half-read silently wrong."""
    path = tmp_path / "cut.wav"
    wavfile.write(path, RATE, (tone(2) * 32767).astype(np.int16))
    path.write_bytes(path.read_bytes()[:-1001])
    with pytest.raises(SourceError):
        load_wav(path)


def test_source_reads_to_end_then_raises(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    wavfile.write(path, RATE, tone(2).astype(np.float32))
    src = WavSource(path)
    assert (src.sample_rate, src.channels) == (RATE, 2)
    total = 0
    while src.frames_left:
        total += src.read(4800).shape[0]
    assert total == int(1.2 * RATE)
    with pytest.raises(SourceError, match="end of recording"):
        src.read(10)
    src.close()
    with pytest.raises(SourceError, match="closed"):
        src.read(10)
