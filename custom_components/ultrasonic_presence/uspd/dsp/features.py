"""Doppler spectrogram features on a radial-velocity axis: the classifier's input contract.

Per hop (FRAME_HOP_S; 184 samples = 50.07 ms at the 3675 Hz baseband of 44.1 kHz
cards) one frame of N_BINS × N_PLANES values, in dB re the carrier power per Hz
(dBc/Hz), on a fixed radial-velocity axis v = Δf·c / (2·f0), so the same network
serves 18 kHz and 45 kHz carriers and any emission level or mic gain.

Chain per frame: each mic's baseband is divided by its own complex carrier amplitude
(the window-weighted mean after removing the frame's common phase slope, i.e. a
carrier frequency offset or drift: normalisation, and the steering reference of the
music canceller) and 1 is subtracted — a DC notch that removes the direct path and static
reflections exactly, whatever their level; slow drift falls in the excluded ±V_MIN_MPS
gap. A Hann window of WINDOW_S gives ≈ 1/WINDOW_S = 5 Hz bins (minor motion at
0.1 m/s is only 12–26 Hz [physics notes]); the music canceller projects out
speaker-borne sidebands; mic powers are averaged; each velocity bin holds the mean PSD
over its Doppler span (exact overlap weights, so narrow bins near zero stay defined).

Velocity axis: 32 bins per sign from V_MIN_MPS (clutter exclusion, 4–12 Hz at
18–45 kHz) to V_MAX_MPS, sinh-warped: ≈ 0.04 m/s wide near zero (minor motion,
breathing-free), ≈ 0.37 m/s at 4 m/s (limbs: ankle peaks 4.65 m/s [Boulic 1990]).
Negative velocity = receding (down-shifted), positive = approaching.

Contract (FEATURE_SHAPE = (CONTEXT_FRAMES, N_BINS, N_PLANES) = (24, 64, 2)): the
classifier sees the last 1.2 s, one decision per 50 ms hop. Plane 0 = motion (residual
after the canceller), plane 1 = removed speaker-borne distortion (music); both clipped
to [FEATURE_FLOOR_DB, FEATURE_CEIL_DB]; `scale_features` maps them to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
from scipy import signal

from .canceller import DistortionCanceller, power
from .physics import speed_of_sound

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]

FRAME_HOP_S = 0.05
WINDOW_S = 0.2
V_MIN_MPS = 0.05
V_MAX_MPS = 4.0
BINS_PER_SIGN = 32
N_BINS = 2 * BINS_PER_SIGN
VELOCITY_WARP = 3.0
PLANE_MOTION = 0
PLANE_MUSIC = 1
N_PLANES = 2
CONTEXT_FRAMES = 24
FEATURE_SHAPE = (CONTEXT_FRAMES, N_BINS, N_PLANES)
FEATURE_FLOOR_DB = -160.0
FEATURE_CEIL_DB = -20.0  # music lines at 2 mm excursion reach ≈ -20 dBc/Hz (plane 1)
# The emitter is off or the path broken when the carrier is below this (dBFS peak) or
# does not dominate its own Doppler band (band power above MAX_BAND_DBC re carrier).
MIN_CARRIER_DBFS = -120.0
MAX_BAND_DBC = -6.0
_MIN_CARRIER_LEVEL = 10.0 ** (MIN_CARRIER_DBFS / 20.0)
# Frames whose window holds start-up or a carrier level jump (emission toggled) are
# broadband junk: marked unsettled for this long; the canceller does not learn from them.
SETTLE_S = 0.3
CARRIER_JUMP_DB = 1.0
# Largest carrier frequency offset followed per frame (sound-card clock mismatch of
# ~50 ppm is 2 Hz at 40 kHz); beyond ±1/(2·half-window spacing) it would be ambiguous.
MAX_DRIFT_HZ = 4.0
# Radial speed no part of a walking body reaches (the ankle peaks at 4.65 m/s [Boulic
# 1990]): baseband power beyond it is not an echo of a person but emitted ultrasound
# (keys, clatter, another device) or a fan's blade tips. Summed out to 0.45 × the
# baseband rate (inside the front end's transition band: attenuated, not removed).
GUARD_MIN_MPS = 5.0


def velocity_edges() -> FloatArray:
    """Bin edges in m/s, ascending: N_BINS + 2 values, the (-V_MIN, V_MIN) gap not a bin."""
    u = np.linspace(0.0, 1.0, BINS_PER_SIGN + 1)
    positive = V_MIN_MPS + (V_MAX_MPS - V_MIN_MPS) * np.sinh(VELOCITY_WARP * u) / math.sinh(
        VELOCITY_WARP
    )
    edges: FloatArray = np.concatenate([-positive[::-1], positive])
    return edges


def velocity_centers() -> FloatArray:
    """Bin centres in m/s, shape (N_BINS,) (the gap interval is not a bin)."""
    edges = velocity_edges()
    lower = np.concatenate([edges[:BINS_PER_SIGN], edges[BINS_PER_SIGN + 1 : -1]])
    upper = np.concatenate([edges[1 : BINS_PER_SIGN + 1], edges[BINS_PER_SIGN + 2 :]])
    centers: FloatArray = (lower + upper) / 2.0
    return centers


def scale_features(features_db: npt.ArrayLike) -> Float32Array:
    """Map dBc/Hz features to [0, 1] for the network input."""
    scaled: Float32Array = np.asarray(features_db, dtype=np.float32) - FEATURE_FLOOR_DB
    scaled /= FEATURE_CEIL_DB - FEATURE_FLOOR_DB
    # np.clip(scaled, 0, 1) in place (the same arithmetic, without its wrapper).
    np.maximum(scaled, 0.0, out=scaled)
    np.minimum(scaled, 1.0, out=scaled)
    return scaled


def pooling_matrix(freqs_hz: FloatArray, bin_hz: float, carrier_hz: float, c: float) -> FloatArray:
    """(N_BINS, n_fft) weights averaging FFT PSD over each velocity bin's Doppler span."""
    edges_hz = velocity_edges() * 2.0 * carrier_hz / c
    lower = np.concatenate([edges_hz[:BINS_PER_SIGN], edges_hz[BINS_PER_SIGN + 1 : -1]])
    upper = np.concatenate([edges_hz[1 : BINS_PER_SIGN + 1], edges_hz[BINS_PER_SIGN + 2 :]])
    cell_lo = freqs_hz - bin_hz / 2.0
    cell_hi = freqs_hz + bin_hz / 2.0
    overlap = np.clip(
        np.minimum(upper[:, None], cell_hi[None, :]) - np.maximum(lower[:, None], cell_lo[None, :]),
        0.0,
        None,
    )
    weights: FloatArray = overlap / (upper - lower)[:, None]
    return weights


@dataclass(frozen=True)
class FeatureFrames:
    """Frames completed by one `process` call (n = number of new frames)."""

    features: Float32Array  # (n, N_BINS, N_PLANES) dBc/Hz, clipped
    carrier: ComplexArray  # (n, mics) complex carrier amplitude (|c| = peak, full scale 1)
    carrier_ok: BoolArray  # (n,) carrier above MIN_CARRIER_DBFS on every mic
    settled: BoolArray  # (n,) clutter filter settled (not within SETTLE_S of a carrier jump)
    music: BoolArray  # (n,) music distortion detected
    sensitivity_reduced: BoolArray  # (n,) music present that the canceller cannot remove
    music_level_db: FloatArray  # (n,) removed Doppler-band power, dBc
    residual_level_db: FloatArray  # (n,) Doppler-band power after cancelling, dBc
    guard_level_db: FloatArray  # (n,) power beyond human speeds (GUARD_MIN_MPS), dBc

    def part(self, start: int, stop: int) -> FeatureFrames:
        """Frames start … stop − 1 (views), e.g. to decide a stored run block by block."""
        return FeatureFrames(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})

    @staticmethod
    def concatenate(parts: list[FeatureFrames], channels: int) -> FeatureFrames:
        """Join consecutive results (e.g. for offline analysis)."""
        if not parts:
            return empty_frames(channels)
        return FeatureFrames(
            features=np.concatenate([p.features for p in parts]),
            carrier=np.concatenate([p.carrier for p in parts]),
            carrier_ok=np.concatenate([p.carrier_ok for p in parts]),
            settled=np.concatenate([p.settled for p in parts]),
            music=np.concatenate([p.music for p in parts]),
            sensitivity_reduced=np.concatenate([p.sensitivity_reduced for p in parts]),
            music_level_db=np.concatenate([p.music_level_db for p in parts]),
            residual_level_db=np.concatenate([p.residual_level_db for p in parts]),
            guard_level_db=np.concatenate([p.guard_level_db for p in parts]),
        )


def empty_frames(channels: int) -> FeatureFrames:
    """A result holding no frames."""
    return FeatureFrames(
        features=np.zeros((0, N_BINS, N_PLANES), dtype=np.float32),
        carrier=np.zeros((0, channels), dtype=np.complex128),
        carrier_ok=np.zeros(0, dtype=np.bool_),
        settled=np.zeros(0, dtype=np.bool_),
        music=np.zeros(0, dtype=np.bool_),
        sensitivity_reduced=np.zeros(0, dtype=np.bool_),
        music_level_db=np.zeros(0),
        residual_level_db=np.zeros(0),
        guard_level_db=np.zeros(0),
    )


class FeatureExtractor:
    """Streaming baseband → feature frames (chunking-invariant, zero prehistory)."""

    def __init__(
        self,
        baseband_rate: float,
        carrier_hz: float,
        channels: int,
        *,
        temperature_c: float = 20.0,
        cancel_distortion: bool = True,
    ) -> None:
        self.rate = float(baseband_rate)
        self.channels = channels
        self.hop = round(FRAME_HOP_S * self.rate)
        self.window_len = round(WINDOW_S / FRAME_HOP_S) * self.hop
        self.frame_hop_s = self.hop / self.rate
        window = signal.windows.hann(self.window_len, sym=False)
        self._window = window
        self._carrier_weights = window / window.sum()
        half = np.arange(self.window_len) < self.window_len // 2
        self._early_weights = np.where(half, window, 0.0) / np.sum(window[half])
        self._late_weights = np.where(half, 0.0, window) / np.sum(window[~half])
        times = (np.arange(self.window_len) - (self.window_len - 1) / 2.0) / self.rate
        self._window_times = times
        # Phase difference of the half-window means of a tone at each drift rate: the
        # monotonic curve inverted per frame to get the rate.
        self._drift_rate = np.linspace(-1.0, 1.0, 801) * 2.0 * math.pi * MAX_DRIFT_HZ
        tone = np.exp(1j * self._drift_rate[:, None] * times[None, :])
        self._drift_phase = -np.angle(
            np.einsum("rw,w->r", tone, self._early_weights)
            * np.conj(np.einsum("rw,w->r", tone, self._late_weights))
        )
        # Window scaled so |FFT|² is a PSD per Hz.
        self._scaled_window = window / math.sqrt(self.rate * np.sum(window**2))
        # FFT of exactly one window (no zero padding: the velocity pooling interpolates).
        self.bin_hz = self.rate / self.window_len
        freqs: FloatArray = np.fft.fftfreq(self.window_len, 1.0 / self.rate).astype(np.float64)
        pool = pooling_matrix(freqs, self.bin_hz, carrier_hz, speed_of_sound(temperature_c))
        used = np.flatnonzero(np.any(pool > 0, axis=0))
        if np.max(np.abs(freqs[used])) > 0.45 * self.rate:
            raise ValueError("velocity range exceeds the baseband bandwidth")
        self._used = used  # FFT bins inside ±V_MAX: the only ones computed further
        speed = np.abs(freqs) * speed_of_sound(temperature_c) / (2.0 * carrier_hz)
        self._guard = np.flatnonzero((speed >= GUARD_MIN_MPS) & (np.abs(freqs) <= 0.45 * self.rate))
        # The pooling matrix is sparse (a velocity bin spans a few FFT bins): keep its
        # non-zeros row by row for a gather + np.add.reduceat instead of a dense product.
        rows, cols = np.nonzero(pool[:, used])
        self._pool_cols = cols
        self._pool_weights = pool[:, used][rows, cols]
        self._pool_starts = np.searchsorted(rows, np.arange(N_BINS))
        self.canceller = DistortionCanceller(
            channels,
            freqs[used],
            self.bin_hz,
            enabled=cancel_distortion,
        )
        self._floor = 10.0 ** (FEATURE_FLOOR_DB / 10.0)
        self._ceil = 10.0 ** (FEATURE_CEIL_DB / 10.0)
        keep = self.window_len - self.hop
        self._settle_frames = round(SETTLE_S / self.frame_hop_s)
        self._since_jump = 0  # frames since start-up / the last carrier jump
        self._last_level_db = np.full(channels, -400.0)
        self._raw_tail = np.zeros((channels, keep), dtype=np.complex128)

    def process(self, baseband: ComplexArray) -> FeatureFrames:
        """Consume baseband (n, mics); return the frames completed by it."""
        return self.process_planar(np.asarray(baseband, dtype=np.complex128).T)

    def process_planar(self, baseband: ComplexArray) -> FeatureFrames:
        """As `process`, for channel-major baseband (mics, n), the front-end's layout.

        At the live runner's 50 ms blocks each call completes one frame, so the cost is
        per-call overhead: few, whole-array numpy operations, and the same arithmetic
        (operation by operation) for any number of frames per call.
        """
        raw = np.concatenate([self._raw_tail, baseband], axis=1)
        keep = self.window_len - self.hop
        n_frames = (raw.shape[1] - keep) // self.hop
        if n_frames <= 0:
            self._raw_tail = raw
            return empty_frames(self.channels)
        self._raw_tail = raw[:, n_frames * self.hop :]
        # (n, mics, window) frames, contiguous (one frame: a view of `raw`).
        step, item = raw.strides
        frames = np.ascontiguousarray(
            np.ndarray(
                (n_frames, self.channels, self.window_len),
                np.complex128,
                raw,
                0,
                (self.hop * item, step, item),
            )
        )
        # Carrier drift (clock offset between emitter and mic, slow phase wander) as a
        # common phase slope: the two half-window means give it, up to ±MAX_DRIFT_HZ.
        # einsum rather than @ throughout: BLAS gemv may go multithreaded (see linalg).
        early = np.einsum("nmw,w->nm", frames, self._early_weights)
        pair = np.add.reduce(
            early * np.conj(np.einsum("nmw,w->nm", frames, self._late_weights)), axis=1
        )
        measured = -np.arctan2(pair.imag, pair.real)  # np.angle, without its wrapper
        # Half-Hann means are not at fixed centroids for larger offsets: exact inverse.
        rate = np.interp(measured, self._drift_phase, self._drift_rate)
        # float32 cos/sin are plenty for a unit phasor (error ≈ -180 dBc/Hz), and much
        # faster than a complex exp.
        angle = (rate[:, None] * self._window_times).astype(np.float32)
        turn = np.cos(angle) - 1j * np.sin(angle)
        carrier = np.einsum("nmw,nw->nm", frames, turn * self._carrier_weights)
        level = np.abs(carrier)
        settled = self._settled(level)
        safe = np.where(level > 0, carrier, 1.0)
        # x/c - 1: normalise by the (de-drifted) carrier and notch the static clutter.
        segments = np.multiply((turn * self._scaled_window)[:, None, :], (1.0 / safe)[:, :, None])
        np.multiply(frames, segments, out=segments)
        np.subtract(segments, self._scaled_window, out=segments)
        # Fancy indexing lays the result out bins-outermost; the reductions below (and
        # so their rounding) follow that layout, so it is kept.
        spectra = np.fft.fft(segments, axis=2, out=segments)[:, :, self._used]
        powers = power(spectra)
        guard = np.add.reduce(power(segments[:, :, self._guard]), axis=2)
        guard_dbc = 10.0 * np.log10(self.bin_hz * np.mean(guard, axis=1) + 1e-30)
        band_dbc = 10.0 * np.log10(self.bin_hz * _bin_sum(powers) + 1e-30)
        carrier_ok = np.logical_and.reduce(
            (level > _MIN_CARRIER_LEVEL) & (band_dbc < MAX_BAND_DBC), axis=1
        )
        out = self.canceller.process(spectra, settled & carrier_ok, powers=powers)
        both = np.concatenate([out.residual_psd, out.removed_psd])  # (2n, bins)
        gathered = np.take(both, self._pool_cols, axis=1)
        gathered *= self._pool_weights
        pooled = np.add.reduceat(gathered, self._pool_starts, axis=1)
        # Clipped to [floor, ceil] (np.clip's arithmetic without its wrapper), in dB.
        np.maximum(pooled, self._floor, out=pooled)
        np.minimum(pooled, self._ceil, out=pooled)
        np.log10(pooled, out=pooled)
        # × 10 in float64, rounded once to the float32 output (as astype would).
        db = np.empty((n_frames, N_BINS, N_PLANES), dtype=np.float32)
        np.multiply(
            pooled.reshape(N_PLANES, n_frames, N_BINS),
            10.0,
            out=db.transpose(2, 0, 1),
            casting="same_kind",
        )
        if not carrier_ok.all():
            db[~carrier_ok] = FEATURE_FLOOR_DB
        return FeatureFrames(
            features=db,
            carrier=carrier,
            carrier_ok=carrier_ok,
            settled=settled,
            music=out.music & carrier_ok & settled,
            sensitivity_reduced=out.sensitivity_reduced & carrier_ok & settled,
            music_level_db=out.music_level_db,
            residual_level_db=out.residual_level_db,
            guard_level_db=guard_dbc,
        )

    def _settled(self, level: FloatArray) -> BoolArray:
        """Per frame: False within SETTLE_S of start-up or of a carrier level jump."""
        level_db = 20.0 * np.log10(np.maximum(level, 1e-20))
        previous = (
            self._last_level_db
            if len(level_db) == 1
            else np.concatenate([self._last_level_db[None, :], level_db[:-1]])
        )
        jumps = np.maximum.reduce(np.abs(level_db - previous), axis=1) > CARRIER_JUMP_DB
        self._last_level_db = level_db[-1]
        settled = np.empty(level.shape[0], dtype=np.bool_)
        # Frames since the latest jump (or start-up), carried across calls unchanged so
        # settling takes SETTLE_S whatever the block size.
        since = self._since_jump
        for i, jump in enumerate(jumps.tolist()):
            since = 0 if jump else since + 1
            settled[i] = since >= self._settle_frames
        self._since_jump = since
        return settled


def _bin_sum(powers: FloatArray) -> FloatArray:
    """np.add.reduce(powers, axis=2) (frames, mics, bins), bit for bit.

    Spectra come bins-outermost, so numpy adds the bins in order, one bin at a time
    across the few (frame, mic) rows; einsum's strided loop sums in that same order
    without a call per bin. Contiguous bins (one frame, one mic) are summed pairwise
    by numpy: left to it.
    """
    if powers.strides[2] == powers.itemsize:
        contiguous: FloatArray = np.add.reduce(powers, axis=2)
        return contiguous
    in_order: FloatArray = np.einsum("fmk->fm", powers)
    return in_order


class ContextWindow:
    """Rolling (CONTEXT_FRAMES, N_BINS, N_PLANES) tensor: the classifier's input.

    A ring buffer stored twice over, so the latest CONTEXT_FRAMES frames are always
    one contiguous slice: a push is two row writes and one copy, not a roll.
    """

    def __init__(self) -> None:
        self._ring = np.full(
            (2 * CONTEXT_FRAMES, *FEATURE_SHAPE[1:]), FEATURE_FLOOR_DB, dtype=np.float32
        )
        self._next = 0  # ring slot of the next frame
        self.frames_seen = 0

    def push(self, frame: npt.ArrayLike) -> Float32Array:
        """Append one (N_BINS, N_PLANES) frame; return the current tensor (a copy)."""
        slot = self._next
        self._ring[slot] = self._ring[slot + CONTEXT_FRAMES] = frame
        self._next = (slot + 1) % CONTEXT_FRAMES
        self.frames_seen += 1
        return self._ring[slot + 1 : slot + 1 + CONTEXT_FRAMES].copy()

    @property
    def full(self) -> bool:
        """True once CONTEXT_FRAMES real frames have been seen."""
        return self.frames_seen >= CONTEXT_FRAMES
