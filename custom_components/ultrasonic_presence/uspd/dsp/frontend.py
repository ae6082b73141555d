"""Per-mic complex demodulation and polyphase decimation to the Doppler baseband.

The mic signal around the carrier f0 is mixed to 0 Hz and decimated by an integer D
so the complex baseband rate is 3.0–4.0 kHz for every supported card rate (44.1 kHz /
12 = 3675 Hz, 48 / 12 = 96 / 24 = 192 / 48 = 4000 Hz). The low-pass keeps the Doppler
band of the fastest limb, Δf = 2·v·f0/c with v = 4.65 m/s (the ankle's peak in walking
[Boulic 1990]): ±0.49 kHz at 18 kHz, ±1.22 kHz at 45 kHz. Its stop band starts where
aliases would fold into that band or at 17 kHz, whichever is nearer the carrier, so
the baseband holds nothing of the audible band (speech) even for 18 kHz carriers —
the privacy guarantee of a sensor node's stream.

Mixing and decimation are fused: y[n] = e^{-jω t_n} Σ_k (h[k] e^{jωk}) x[t_n - k],
evaluated only at the decimated instants with one real matrix product over the
polyphase blocks of the *real* input, so the full-rate signal is never made complex.
Baseband amplitude is scaled so |y| equals the peak amplitude of the received tone
(the same dBFS convention as `AudioSource.set_emission`). Arithmetic is float64: in
float32 the rounding of the strong direct-path carrier leaves a floor near -137 dBc/Hz,
too close to a 24-bit ADC's noise.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import signal

from .linalg import fixed_rows, fixed_rows_matmul, pairwise_sum_last
from .physics import MAX_CARRIER_HZ, MIN_CARRIER_HZ, doppler_hz

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
ComplexArray = npt.NDArray[np.complex128]

MIN_SAMPLE_RATE = 44_100
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
# Baseband target: at most this rate, via an integer decimation.
MAX_BASEBAND_RATE = 4_000.0
# Fastest radial velocity whose Doppler the low-pass keeps flat [Boulic 1990], m/s.
PASSBAND_VELOCITY_MPS = 4.65
# Everything below this is audible band: ≥ 80 dB down in the baseband.
AUDIBLE_EDGE_HZ = 17_000.0
# Narrowest transition band allowed (filter length ∝ 1/width).
MIN_TRANSITION_HZ = 300.0
STOPBAND_ATTENUATION_DB = 80.0
# Output-index split for the mixer phase (see FrontEnd._mixer).
_PHASE_CHUNK = 1 << 20
# Kaiser's length formula is approximate: design for a little more than promised.
DESIGN_MARGIN_DB = 4.0
# Carrier tracker time constant: follows level/phase changes, ignores Doppler.
CARRIER_TRACK_TAU_S = 0.2


def decimation_for(sample_rate: int) -> int:
    """Integer decimation giving a baseband rate of 3–4 kHz; ValueError if unsupported."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"unsupported sample rate {sample_rate} Hz: ultrasonic sensing needs "
            f"{MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz (44.1/48/96/192 kHz cards)"
        )
    return math.ceil(sample_rate / MAX_BASEBAND_RATE)


def baseband_rate(sample_rate: int) -> float:
    """Complex baseband sample rate (Hz) for a card rate."""
    return sample_rate / decimation_for(sample_rate)


def passband_hz(carrier_hz: float) -> float:
    """One-sided Doppler band kept flat around `carrier_hz`, Hz."""
    return doppler_hz(PASSBAND_VELOCITY_MPS, carrier_hz)


def stopband_hz(carrier_hz: float, sample_rate: int) -> float:
    """Offset from the carrier beyond which the low-pass is ≥ 80 dB down, Hz.

    Where aliases would fold into the passband, or the audible edge (17 kHz) if that is
    nearer — but never closer than MIN_TRANSITION_HZ to the passband (carriers under
    ≈17.8 kHz, accepted for recordings; calibration and nodes use ≥ 18 kHz).
    """
    passband = passband_hz(carrier_hz)
    alias_edge = baseband_rate(sample_rate) - passband
    audible_edge = max(carrier_hz - AUDIBLE_EDGE_HZ, passband + MIN_TRANSITION_HZ)
    return min(alias_edge, audible_edge)


def max_carrier_hz(sample_rate: int, margin_hz: float = 0.0) -> float:
    """Highest carrier whose Doppler band (plus `margin_hz`) stays below Nyquist."""
    scale = 1.0 + passband_hz(1.0)
    return min((sample_rate / 2.0 - margin_hz) / scale, MAX_CARRIER_HZ)


def check_carrier(carrier_hz: float, sample_rate: int) -> None:
    """ValueError unless the carrier and its Doppler band fit below Nyquist."""
    nyquist = sample_rate / 2.0
    passband = passband_hz(carrier_hz)
    if carrier_hz + passband >= nyquist:
        raise ValueError(
            f"carrier {carrier_hz:.0f} Hz is too close to or above Nyquist "
            f"({nyquist:.0f} Hz at {sample_rate} Hz): its Doppler band (±{passband:.0f} Hz) "
            "would alias; use a lower carrier or a higher sample rate"
        )
    if not MIN_CARRIER_HZ <= carrier_hz <= MAX_CARRIER_HZ:
        raise ValueError(
            f"carrier {carrier_hz:.0f} Hz outside {MIN_CARRIER_HZ:.0f}–{MAX_CARRIER_HZ:.0f} Hz"
        )


def _lowpass(sample_rate: int, decimation: int, carrier_hz: float) -> FloatArray:
    """Kaiser low-pass: flat to passband_hz, 80 dB down from stopband_hz."""
    passband = passband_hz(carrier_hz)
    stopband = stopband_hz(carrier_hz, sample_rate)
    width = (stopband - passband) / (sample_rate / 2)
    numtaps, beta = signal.kaiserord(STOPBAND_ATTENUATION_DB + DESIGN_MARGIN_DB, width)
    numtaps = decimation * math.ceil(numtaps / decimation)  # whole polyphase columns
    taps: FloatArray = signal.firwin(
        numtaps, (passband + stopband) / 2, window=("kaiser", beta), fs=sample_rate
    ).astype(np.float64)
    normalised: FloatArray = taps / taps.sum()
    return normalised


class FrontEnd:
    """Streaming demodulator: real mic blocks in, complex baseband out (chunking-invariant).

    `process(block)` accepts any number of frames, shape (frames, channels); it returns
    the baseband samples completed by that block, shape (n, channels). The first outputs,
    whose filter would still see zero prehistory, are dropped so a steady carrier gives a
    steady baseband from the first sample: output n ends at input sample (n+P-1)·D + D-1
    with P = taps / D (`latency_samples` = P·D input samples).
    """

    def __init__(self, sample_rate: int, carrier_hz: float, channels: int) -> None:
        if not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"{channels} channels: 1..{MAX_CHANNELS} microphones supported")
        self.decimation = decimation_for(sample_rate)
        check_carrier(carrier_hz, sample_rate)
        self.sample_rate = sample_rate
        self.carrier_hz = float(carrier_hz)
        self.channels = channels
        self.output_rate = sample_rate / self.decimation
        taps = _lowpass(sample_rate, self.decimation, carrier_hz)
        omega = 2.0 * math.pi * carrier_hz / sample_rate
        shifted = 2.0 * taps * np.exp(1j * omega * np.arange(taps.size))  # x2: peak amplitude
        d = self.decimation
        self._columns = taps.size // d
        # poly[j, p] = g[p·D + D-1-j]: block sample j contributes through column p.
        poly = shifted.reshape(self._columns, d)[:, ::-1].T
        # Columns interleaved (re, im) so the products read directly as complex128.
        self._poly = np.ascontiguousarray(
            np.stack([poly.real, poly.imag], axis=2).reshape(d, 2 * self._columns),
            dtype=np.float64,
        )
        self._history = np.zeros((channels, self._columns - 1, 2 * self._columns), np.float64)
        self._skip = self._columns - 1  # outputs still inside the filter's warm-up
        self.latency_samples = taps.size
        self._pending = np.zeros((channels, 0), np.float64)
        # Mixer phase of output k, in cycles: k·f0·D/fs + f0·(D-1)/fs (mod 1), computed
        # from k alone (see _mixer) so it is bit-identical however the stream is cut.
        self._cycles_per_output = carrier_hz * d / sample_rate
        self._cycles_offset = (carrier_hz * (d - 1) / sample_rate) % 1.0
        self._cycles_per_chunk = (self._cycles_per_output * _PHASE_CHUNK) % 1.0
        self._outputs = 0  # baseband samples produced so far (including warm-up ones)
        self._track_pole = math.exp(-1.0 / (CARRIER_TRACK_TAU_S * self.output_rate))
        self._carrier = np.zeros(channels, dtype=np.complex128)
        self._cache: dict[int, ComplexArray] = {}

    @property
    def carrier(self) -> ComplexArray:
        """Tracked complex carrier amplitude per mic (|c| = peak amplitude, full scale 1)."""
        return self._carrier.copy()

    @property
    def carrier_level_dbfs(self) -> FloatArray:
        """Tracked received carrier level per mic, dBFS peak."""
        level: FloatArray = 20.0 * np.log10(np.maximum(np.abs(self._carrier), 1e-12))
        return level

    def _per_length(self, n: int) -> ComplexArray:
        """Carrier-tracker weights for an n-sample output block (cached)."""
        cached = self._cache.get(n)
        if cached is None:
            pole = self._track_pole
            weights = ((1.0 - pole) * pole ** np.arange(n - 1, -1, -1)).astype(np.complex128)
            cached = self._cache[n] = weights
        return cached

    def _mixer(self, n: int) -> ComplexArray:
        """e^{-jφ_k} for the next n outputs, each φ_k from its index k alone.

        Accumulating the phase block by block would round differently for different
        block sizes; k = q·_PHASE_CHUNK + r keeps every product small (exact to ≈1e-12
        cycles after years of streaming) and depends on nothing but k.
        """
        k = np.arange(self._outputs, self._outputs + n, dtype=np.int64)
        q, r = np.divmod(k, _PHASE_CHUNK)
        cycles = (q * self._cycles_per_chunk) % 1.0 + (r * self._cycles_per_output) % 1.0
        cycles += self._cycles_offset
        self._outputs += n
        rotation: ComplexArray = np.exp(-2j * math.pi * (cycles % 1.0))
        return rotation

    def process(self, block: npt.ArrayLike) -> ComplexArray:
        """Demodulate `block` (frames, channels); return completed baseband (n, channels)."""
        result: ComplexArray = np.ascontiguousarray(self.process_planar(block).T)
        return result

    def process_planar(self, block: npt.ArrayLike) -> ComplexArray:
        """As `process`, but channel-major (channels, n): the layout the features consume."""
        x = np.asarray(block)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise ValueError(f"expected (frames, {self.channels}) audio, got {x.shape}")
        d = self.decimation
        pending = self._pending.shape[1]
        n = (pending + x.shape[0]) // d
        if n == 0:
            self._pending = np.concatenate([self._pending, x.T.astype(np.float64)], axis=1)
            return np.zeros((self.channels, 0), dtype=np.complex128)
        used = n * d - pending  # input frames completing this block's n decimation blocks
        p_count = self._columns
        # One row of D samples per (mic, output), converted and transposed in one pass.
        # Each mic's rows follow P-1 placeholder rows, so the products come out laid out
        # as needed (the previous block's last P-1 product rows, then this block's); the
        # buffer is padded to whole fixed-size products (rows are independent).
        rows = self.channels * (p_count - 1 + n)
        size = fixed_rows(d, 2 * p_count)
        blocks = np.empty((-(-rows // size) * size, d))
        blocks[rows:] = 0.0
        per_mic = blocks[:rows].reshape(self.channels, p_count - 1 + n, d)
        per_mic[:, : p_count - 1] = 0.0
        signal = per_mic[:, p_count - 1 :].reshape(self.channels, n * d)
        signal[:, :pending] = self._pending
        signal[:, pending:] = x[:used].T
        self._pending = x[used:].T.astype(np.float64)
        products = fixed_rows_matmul(blocks, self._poly, np.empty((len(blocks), 2 * p_count)))
        full = products[:rows].reshape(self.channels, p_count - 1 + n, 2 * p_count)
        full[:, : p_count - 1] = self._history
        self._history = full[:, n:].copy()
        # y[i] = Σ_p full[i + P-1-p, p]: one strided (diagonal) view of the complex products.
        complex_products = full.view(np.complex128)  # (channels, P-1+n, P)
        item = complex_products.itemsize
        diagonal = np.ndarray(
            (self.channels, n, p_count),
            np.complex128,
            complex_products,
            (p_count - 1) * complex_products.strides[1],
            (complex_products.strides[0], p_count * item, (1 - p_count) * item),
        )
        summed = pairwise_sum_last(diagonal)
        weights = self._per_length(n)
        base = summed * self._mixer(n)
        # One-pole carrier tracker, closed form over the block (chunking changes only its
        # last bits; it is reported, the features measure the carrier per frame).
        # einsum, not @: a BLAS gemv here may go multithreaded (see linalg).
        self._carrier = self._track_pole**n * self._carrier + np.einsum("cn,n->c", base, weights)
        drop = min(self._skip, n)
        self._skip -= drop
        result: ComplexArray = base[:, drop:]
        return result
