"""Front-end: demodulation accuracy, anti-alias rejection, errors, chunking, carrier detection."""

from __future__ import annotations

import numpy as np
import pytest

from uspd.dsp import testsignals as ts
from uspd.dsp.carrier import detect_carrier
from uspd.dsp.frontend import FrontEnd, baseband_rate, passband_hz, stopband_hz
from uspd.dsp.linalg import pairwise_sum_last

RATES_AND_CARRIERS = [
    (44_100, 19_000.0),
    (48_000, 20_000.0),
    (96_000, 40_000.0),
    (192_000, 45_000.0),
]


def _tones(sample_rate: int, seconds: float, tones: list[tuple[float, float]]) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    x = sum(a * np.cos(2 * np.pi * f * t + 0.3) for f, a in tones)
    return np.asarray(x, dtype=np.float32)[:, None]


def _line_amplitude(baseband: np.ndarray, rate: float, offset_hz: float) -> float:
    """|DFT| at offset_hz of the steady part, normalised to a tone's amplitude."""
    x = baseband[len(baseband) // 4 :, 0]
    n = np.arange(x.size)
    return float(np.abs(np.mean(x * np.exp(-2j * np.pi * offset_hz * n / rate))))


@pytest.mark.parametrize(("sample_rate", "carrier"), RATES_AND_CARRIERS)
def test_rate_and_passband_gain(sample_rate: int, carrier: float) -> None:
    """3–4 kHz baseband; a tone at the passband edge (the Doppler of 4.65 m/s) comes out
    at its peak amplitude; one at the stop-band edge is ≥ 80 dB down."""
    rate = baseband_rate(sample_rate)
    assert 3_000 <= rate <= 4_000
    edge = round(passband_hz(carrier))
    stop = round(stopband_hz(carrier, sample_rate)) + 1
    audio = _tones(sample_rate, 1.5, [(carrier, 0.2), (carrier - edge, 0.01)])
    fe = FrontEnd(sample_rate, carrier, 1)
    y = fe.process(audio)
    assert _line_amplitude(y, rate, 0.0) == pytest.approx(0.2, rel=1e-3)
    assert _line_amplitude(y, rate, -edge) == pytest.approx(0.01, rel=2e-2)
    blocked = FrontEnd(sample_rate, carrier, 1).process(
        _tones(sample_rate, 1.5, [(carrier - stop, 1.0)])
    )
    alias = (-stop + rate / 2) % rate - rate / 2
    assert 20 * np.log10(_line_amplitude(blocked, rate, alias)) < -80
    assert 20 * np.log10(abs(fe.carrier[0])) == pytest.approx(20 * np.log10(0.2), abs=0.1)


@pytest.mark.parametrize(("sample_rate", "carrier"), RATES_AND_CARRIERS)
def test_aliases_rejected(sample_rate: int, carrier: float) -> None:
    """Tones that would alias into the Doppler band are ≥ 75 dB down."""
    rate = baseband_rate(sample_rate)
    offset = rate - 0.9 * passband_hz(carrier)  # aliases into the band after decimation
    audio = _tones(sample_rate, 0.5, [(carrier + offset, 1.0), (5_000.0, 1.0)])
    y = FrontEnd(sample_rate, carrier, 1).process(audio)
    spectrum = np.abs(np.fft.fft(y[len(y) // 4 :, 0] * np.hanning(len(y) - len(y) // 4)))
    peak = spectrum.max() / np.hanning(len(y) - len(y) // 4).sum()
    assert 20 * np.log10(peak) < -75


def test_unsupported_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="unsupported sample rate 32000"):
        FrontEnd(32_000, 15_000.0, 1)
    with pytest.raises(ValueError, match="Nyquist"):
        FrontEnd(48_000, 23_500.0, 1)
    with pytest.raises(ValueError, match="microphones"):
        FrontEnd(48_000, 20_000.0, 9)


def test_chunking_invariance_multi_mic() -> None:
    """Baseband from one block equals baseband from random block sizes, bit for bit."""
    audio = ts.render(ts.Scene(mics=3, walker=ts.Walker(), music=(0.05, 0.05)), 1.0, 96_000)
    whole = FrontEnd(96_000, 40_000.0, 3).process(audio)
    fe = FrontEnd(96_000, 40_000.0, 3)
    rng = np.random.default_rng(7)
    parts, i = [], 0
    while i < len(audio):
        size = int(rng.integers(0, 3_000))
        parts.append(fe.process(audio[i : i + size]))
        i += size
    pieces = np.concatenate(parts)
    assert pieces.shape == whole.shape
    np.testing.assert_array_equal(pieces, whole)


@pytest.mark.parametrize("mics", [1, 4])
def test_planar_output_is_the_same_baseband(mics: int) -> None:
    """process_planar (what the chain uses) is process transposed, bit for bit."""
    audio = ts.render(ts.Scene(mics=mics, walker=ts.Walker()), 0.5, 48_000)
    whole = FrontEnd(48_000, 20_000.0, mics).process(audio)
    planar = FrontEnd(48_000, 20_000.0, mics)
    parts = [planar.process_planar(audio[i : i + 2_400]) for i in range(0, len(audio), 2_400)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1).T, whole)


def test_pairwise_sum_last_is_numpys_sum() -> None:
    """The spelled-out pairwise order gives ndarray.sum's bits on strided diagonal views."""
    rng = np.random.default_rng(4)
    for count in [*range(1, 20), 35, 64, 65, 70, 133]:
        rows = 7
        full = rng.standard_normal((2, count - 1 + rows, 2 * count))
        full *= 10.0 ** rng.uniform(-8, 0, full.shape)
        products = full.view(np.complex128)
        item = products.itemsize
        diagonal = np.lib.stride_tricks.as_strided(
            products[:, count - 1 :],
            (2, rows, count),
            (products.strides[0], count * item, (1 - count) * item),
            writeable=False,
        )
        np.testing.assert_array_equal(pairwise_sum_last(diagonal), diagonal.sum(axis=-1))


@pytest.mark.parametrize(("sample_rate", "carrier"), [*RATES_AND_CARRIERS, (96_000, 31_234.5)])
def test_detect_carrier_sub_bin(sample_rate: int, carrier: float) -> None:
    """Carrier found within 0.05 Hz despite music, motion and a stronger transient tone."""
    scene = ts.Scene(mics=2, carrier_hz=carrier, walker=ts.Walker(), music=(0.1, 0.1))
    audio = ts.render(scene, 1.0, sample_rate).astype(np.float64)
    burst = np.zeros(len(audio))
    tb = np.arange(sample_rate // 10) / sample_rate
    burst[: sample_rate // 10] = 0.5 * np.sin(2 * np.pi * 18_200 * tb)
    audio += burst[:, None]  # strong but brief: must not win
    assert detect_carrier(audio, sample_rate) == pytest.approx(carrier, abs=0.05)


def test_detect_carrier_rejects_noise() -> None:
    noise = np.random.default_rng(3).standard_normal((48_000, 1)) * 1e-3
    with pytest.raises(ValueError, match="no carrier"):
        detect_carrier(noise, 48_000)
