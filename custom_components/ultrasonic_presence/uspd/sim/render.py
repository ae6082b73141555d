"""The renderer: scene → multichannel samples, chunk by chunk, as a pure function.

Design (why it is fast and block-size independent):
- Every propagation path is computed in complex baseband around the carrier at a low
  internal rate fs/L ≈ 8-9 kHz (±2.8 kHz flat: Doppler, micro-Doppler and music
  sidebands). A path with length ℓ(t) contributes g·a(t-ℓ/c)·exp(-j·k0·ℓ(t)); the
  geometry is exact, so Doppler and multipath come from motion.
- Moving scatterers: exact path lengths on a coarse grid (every D internal samples),
  phase interpolated linearly inside each block (a tone per block), and all paths of all
  scatterers summed with one batched matrix product. Paths: speaker→P→mic plus the 12
  first-order wall/floor/ceiling image paths (speaker image → P → mic, P → mic image).
- Static paths (enclosure coupling + image sources up to `Room.static_order`) are a
  per-mic FIR on the music envelope (or a constant without music), optionally with HVAC
  phase wander per path-length group.
- Each output chunk is built in the frequency domain: the baseband window's spectrum,
  shaped by the device response H(f0+f) and a smooth band limit, is placed at the
  carrier bins of the output spectrum (plus tones at their own bins and the audible band
  at DC), then one inverse real FFT per mic gives the full-rate signal. Overlap-save
  margins make each chunk depend only on the scene, never on earlier calls.
- Full-rate mic noise (RNG keyed by chunk index), bursts, clipping and quantisation last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import fftconvolve

from .acoustics import absorption_db_per_m, first_order_images, image_sources, speed_of_sound
from .air import HvacModel
from .device import DeviceModel
from .emission import EmissionSchedule
from .interference import BurstModel, SpeechModel, ToneModel
from .model import BuildContext, ScatterModel, TruthModel
from .music import MusicModel
from .randomness import keyed_rng
from .scenario import Scenario

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

N_WINDOW = 4096  # internal samples per FFT window
PAD = 64  # overlap-save margin on each side (≈8 ms): the band-limit kernel's support
N_CHUNK = N_WINDOW - 2 * PAD  # internal samples delivered per chunk


def internal_factor(sample_rate: int) -> int:
    """Upsampling factor L: the smallest divisor of fs with fs/L ≤ 9 kHz (≥ 6 kHz)."""
    for factor in range(1, 257):
        if sample_rate % factor == 0 and sample_rate / factor <= 9000:
            if sample_rate / factor < 6000:
                break
            return factor
    raise ValueError(f"no internal rate for sample rate {sample_rate}")


def _gemm(a: FloatArray, b: FloatArray) -> FloatArray:
    """a @ b in row blocks: OpenBLAS goes multithreaded above ~2.6e5 multiply-adds and its
    spinning threads then cost more CPU than the product itself (see dsp/linalg.py)."""
    rows = max(1, 100_000 // max(1, b.shape[0] * b.shape[1]))
    out = np.empty((a.shape[0], b.shape[1]))
    for i in range(0, a.shape[0], rows):
        np.matmul(a[i : i + rows], b, out=out[i : i + rows])
    return out


def cis(x: npt.NDArray[np.float32]) -> npt.NDArray[np.complex64]:
    """exp(j·x) in single precision via SIMD cos/sin (numpy's complex64 exp is ~4× slower)."""
    out = np.empty(x.shape, dtype=np.complex64)
    out.real = np.cos(x)
    out.imag = np.sin(x)
    return out


def _taper(x: FloatArray, flat: float, stop: float) -> FloatArray:
    """1 below `flat`, cos² roll-off to 0 at `stop` (on |x|)."""
    u = np.clip((np.abs(x) - flat) / (stop - flat), 0.0, 1.0)
    return np.asarray(np.cos(0.5 * np.pi * u) ** 2, dtype=np.float64)


@dataclass(frozen=True)
class StaticPaths:
    """Static paths for one carrier, split into path-length groups (for HVAC wander)."""

    taps: ComplexArray  # (G, M, n_taps) FIR on the emitted envelope
    gains: ComplexArray  # (G, M) sum of each group's taps
    lengths: FloatArray  # (G,) mean path length (m)


class Renderer:
    """Renders output chunks of a scenario; stateless apart from caches."""

    def __init__(self, scenario: Scenario) -> None:
        sc = scenario
        self.scenario = sc
        self.fs = sc.sample_rate
        self.factor = internal_factor(sc.sample_rate)
        self.fs_int = sc.sample_rate // self.factor
        self.n_mics = sc.n_mics
        self.c = speed_of_sound(sc.room.temperature_c)
        self.device = DeviceModel(sc.device, sc.n_mics, sc.sample_rate, sc.room, sc.seed)
        self.echo_ref = 10 ** (sc.device.echo_ref_db / 20)
        refl = np.asarray(sc.room.reflection, dtype=np.float64)
        spk_img, beta = first_order_images(self.device.speaker[None], sc.room.size_m, refl)
        self.spk_points = np.concatenate([self.device.speaker[None], spk_img[:, 0]])  # (7, 3)
        mic_img, _ = first_order_images(self.device.mics, sc.room.size_m, refl)
        self.mic_points = np.concatenate([self.device.mics[None], mic_img])  # (7, M, 3)
        self._beta7 = np.concatenate([[1.0], beta])  # direct + six walls
        pts = np.concatenate([self.spk_points, self.mic_points.reshape(-1, 3)])
        self._pts = pts - self.device.center  # (7 + 7M, 3), relative for precision
        self._pts_sq = np.sum(self._pts**2, axis=1)
        seeds = np.random.SeedSequence(sc.seed & 0xFFFFFFFF).spawn(len(sc.actors))
        self.models: list[Any] = []
        for actor, ss in zip(sc.actors, seeds, strict=True):
            ctx = BuildContext(
                sc.room, self.device.center, sc.duration_s, np.random.default_rng(ss), sc.seed
            )
            self.models.append(actor.build(ctx))
        self.scatter = [m for m in self.models if isinstance(m, ScatterModel)]
        self.music = [m for m in self.models if isinstance(m, MusicModel)]
        self.tones = [m for m in self.models if isinstance(m, ToneModel)]
        self.bursts = [m for m in self.models if isinstance(m, BurstModel)]
        self.speech = [m for m in self.models if isinstance(m, SpeechModel)]
        self.hvac = [m for m in self.models if isinstance(m, HvacModel)]
        self.truth_models = [m for m in self.models if isinstance(m, TruthModel)]
        df = self.fs_int / N_WINDOW
        rel = np.asarray((np.arange(N_WINDOW) - N_WINDOW // 2) * df, dtype=np.float64)
        self.band = _taper(rel, 0.35 * self.fs_int, 0.45 * self.fs_int)
        bins = np.asarray(np.arange(N_WINDOW // 2 + 1) * df, dtype=np.float64)
        self.audible_band = _taper(bins, 0.35 * self.fs_int, 0.45 * self.fs_int)
        self.audible_gain = np.abs(self.device.mic_response(np.array([1000.0])))[:, 0]
        noise = sc.device.mic_noise_dbfs_hz
        self.noise_rms = 0.0 if noise is None else math.sqrt(10 ** (noise / 10) * self.fs / 2)
        self.burst_gain = 10 ** (keyed_rng(sc.seed, 0xB0).normal(0, 1.0, 8)[: self.n_mics] / 20)
        self._static_cache: dict[float, StaticPaths] = {}
        self._response_cache: dict[float, ComplexArray] = {}

    # ------------------------------------------------------------------ time helpers
    def scene_time(self, t: FloatArray) -> FloatArray:
        """Absolute → scene time (wraps for looping scenarios)."""
        if self.scenario.loop:
            return np.asarray(np.mod(t, self.scenario.duration_s), dtype=np.float64)
        return t

    def _scene_index(self, k: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        if self.scenario.loop:
            period = round(self.scenario.duration_s * self.fs_int)
            return np.asarray(np.mod(k, period), dtype=np.int64)
        return k

    # ------------------------------------------------------------------ static paths
    def static_paths(self, f0: float) -> StaticPaths:
        """Direct coupling plus image-source reflections at carrier f0 (cached)."""
        if f0 in self._static_cache:
            return self._static_cache[f0]
        sc, dev = self.scenario, self.device
        k0 = 2 * np.pi * f0 / self.c
        att = float(absorption_db_per_m(f0, sc.room.temperature_c, sc.room.humidity_pct))
        a_np = att * np.log(10) / 20
        d_dir = np.linalg.norm(dev.mics - dev.speaker, axis=1)  # (M,)
        direct = 10 ** (sc.device.direct_db / 20) * np.exp(-1j * k0 * d_dir)
        pos, gain = image_sources(
            dev.speaker, sc.room.size_m, np.asarray(sc.room.reflection), sc.room.static_order
        )
        keep = gain > 0
        pos, gain = pos[keep], gain[keep]
        groups = [(d_dir[None, :], direct[None, :])]
        if len(pos):
            d = np.linalg.norm(pos[:, None, :] - dev.mics[None, :, :], axis=2)  # (K, M)
            g = self.echo_ref * gain[:, None] / d * np.exp(-a_np * d - 1j * k0 * d)
            edges = np.quantile(d[:, 0], [1 / 3, 2 / 3])
            which = np.searchsorted(edges, d[:, 0])
            for i in range(3):
                sel = which == i
                if np.any(sel):
                    groups.append((d[sel], g[sel]))
        n_taps = int(max(float(np.max(x[0])) for x in groups) / self.c * self.fs_int) + 2
        taps = np.zeros((len(groups), self.n_mics, n_taps), dtype=np.complex128)
        lengths = np.zeros(len(groups))
        for gi, (d, g) in enumerate(groups):
            idx = np.rint(d / self.c * self.fs_int).astype(np.int64)
            for m in range(self.n_mics):
                np.add.at(taps[gi, m], idx[:, m], g[:, m])
            lengths[gi] = float(np.mean(d))
        out = StaticPaths(taps, taps.sum(axis=2), lengths)
        self._static_cache[f0] = out
        return out

    def response(self, f0: float) -> ComplexArray:
        """Device response × band limit on the window's bins around f0: (M, N_WINDOW)."""
        if f0 not in self._response_cache:
            rel = np.asarray(
                (np.arange(N_WINDOW) - N_WINDOW // 2) * (self.fs_int / N_WINDOW), dtype=np.float64
            )
            self._response_cache[f0] = self.device.response(f0 + rel) * self.band[None, :]
        return self._response_cache[f0]

    def _tone_response(self, f_center: float) -> ComplexArray:
        """Mic × ADC response × band limit around an interfering tone (cached)."""
        key = -f_center  # separate keys from the carrier responses
        if key not in self._response_cache:
            rel = np.asarray((np.arange(N_WINDOW) - N_WINDOW // 2) * (self.fs_int / N_WINDOW))
            h = self.device.mic_response(f_center + rel.astype(np.float64))
            self._response_cache[key] = h * self.band[None, :]
        return self._response_cache[key]

    # ------------------------------------------------------------------ baseband
    def _music_envelope(self, k_lo: int, k_hi: int, k0: float) -> ComplexArray | None:
        """Emitted complex envelope a(t) on internal samples [k_lo, k_hi), None if silent."""
        if not self.music:
            return None
        t = self.scene_time(np.arange(k_lo, k_hi) / self.fs_int)
        a: ComplexArray | None = None
        for m in self.music:
            if not np.any(m.active(t) > 0):
                continue
            env = m.envelope(t, k0)
            a = env if a is None else a * env
        return a

    def emitted(self, k_a: int, k_b: int, f0: float) -> ComplexArray:
        """Received baseband of the emitted carrier (unit drive) on [k_a, k_b): (M, n)."""
        n = k_b - k_a
        k0 = 2 * np.pi * f0 / self.c
        st = self.static_paths(f0)
        back = max(st.taps.shape[2], 2048)
        a_ext = self._music_envelope(k_a - back, k_b, k0)
        t = self.scene_time((k_a + np.arange(n)) / self.fs_int)
        out = np.zeros((self.n_mics, n), dtype=np.complex128)
        for g in range(st.taps.shape[0]):
            if a_ext is None:
                part: ComplexArray = np.broadcast_to(st.gains[g][:, None], (self.n_mics, n))
            else:
                n_taps = st.taps.shape[2]
                seg = a_ext[back - n_taps + 1 :]
                part = fftconvolve(seg[None, :], st.taps[g], mode="valid", axes=1)
            if self.hvac and g > 0:
                jitter = sum(h.jitter(t, g) for h in self.hvac)
                part = part * np.exp(-1j * k0 * st.lengths[g] * jitter)[None, :]
            out += part
        att = float(
            absorption_db_per_m(
                f0, self.scenario.room.temperature_c, self.scenario.room.humidity_pct
            )
        )
        for model in self.scatter:
            out += self._scatter(
                model=model, k_a=k_a, k_b=k_b, k0=k0, a_np=att * np.log(10) / 20,
                a_ext=a_ext, back=back,
            )  # fmt: skip
        return out

    def _scatter(
        self,
        *,
        model: ScatterModel,
        k_a: int,
        k_b: int,
        k0: float,
        a_np: float,
        a_ext: ComplexArray | None,
        back: int,
    ) -> ComplexArray:
        """Echoes of one element's moving scatterers on [k_a, k_b): (M, n)."""
        d = model.decimation
        b_a, b_b = k_a // d, -(-k_b // d)
        nb = b_b - b_a
        tc = (b_a + np.arange(nb + 2)) * d / self.fs_int
        st = self.scene_time(tc)
        span = getattr(model, "span", None)  # (t_from, t_to) outside which it is silent
        if span is not None and st[-1] >= st[0] and (st[-1] < span[0] or st[0] > span[1]):
            return np.zeros((self.n_mics, k_b - k_a), dtype=np.complex128)
        pos, amp = model.scatterers(st)
        live = np.max(amp, axis=1) > 0
        if not np.any(live):
            return np.zeros((self.n_mics, k_b - k_a), dtype=np.complex128)
        pos, amp = pos[live], amp[live]
        n_s, n_t = amp.shape
        m = self.n_mics
        # all distances at once: |p-q|² = |p|² + |q|² - 2 p·q (one BLAS product)
        flat = pos.reshape(-1, 3) - self.device.center
        sq = (
            np.sum(flat * flat, axis=1)[:, None]
            + self._pts_sq[None, :]
            - 2.0 * _gemm(flat, self._pts.T)
        )
        r = np.sqrt(np.maximum(sq, 1e-8)).reshape(n_s, n_t, -1)
        r_s, r_m = r[:, : nb + 1, :7], r[:, : nb + 1, 7:].reshape(n_s, nb + 1, 7, m)
        # speaker side (S, nb, 7) and mic side (S, nb, 7, M) phasors; paths are products
        rs0 = r_s[:, :nb]
        g_s = (self.echo_ref * self._beta7) * amp[:, :nb, None] * np.exp(-a_np * rs0) / rs0
        e_s = g_s.astype(np.float32) * cis((-k0 * rs0).astype(np.float32))
        rm0 = r_m[:, :nb].astype(np.float32)
        g_m = self._beta7[:, None].astype(np.float32) * np.exp(np.float32(-a_np) * rm0) / rm0
        e_m = g_m * cis((-k0 * r_m[:, :nb]).astype(np.float32))
        # One Doppler ramp per wall: speaker-image (S'→P→M) and mic-image (S→P→M') paths
        # of the same wall differ in length rate by ≲ v·|S-M|/r (a few Hz), so they share
        # the ramp; each keeps its exact start phase per block and per mic.
        r_mean = r[..., 7:].reshape(n_s, n_t, 7, m).mean(axis=-1)
        phi = -k0 * (r[..., :1] + r_mean[..., :1] + r[..., :7] + r_mean)
        phi *= 0.5  # mean of the two paths per wall; wall 0 = the direct scatter path
        slope = (phi[:, 1 : nb + 1] - phi[:, :nb]) / d  # S,nb,7 rad/sample
        curv = (phi[:, 2:] - 2 * phi[:, 1 : nb + 1] + phi[:, :nb]) / (2 * d * d)
        alias = np.ones(slope.shape, dtype=np.float32)
        fast = np.abs(slope) > 0.3 * 2 * np.pi
        if np.any(fast):  # drop what the internal rate cannot hold (far outside ±1.5 kHz)
            alias[fast] = _taper(slope[fast] / (2 * np.pi), 0.3, 0.42)
        # per wall w: e_s[w]·e_m[0] + e_s[0]·e_m[w]  (wall 0: the direct path, once)
        coef = e_s[..., :, None] * e_m[..., :1, :] + e_s[..., :1, None] * e_m
        coef[..., 0, :] *= 0.5
        coef = np.swapaxes(coef * alias[..., None], 2, 3)  # S,nb,M,7
        rot = cis((slope + curv * (1 - d)).astype(np.float32))
        acc = cis((2 * curv).astype(np.float32))
        ramp = np.empty((d, *slope.shape), dtype=np.complex64)  # contiguous per step
        ramp[0] = 1.0
        for i in range(1, d):
            np.multiply(ramp[i - 1], rot, out=ramp[i])
            rot *= acc
        res = np.matmul(coef, ramp.transpose(1, 2, 3, 0))  # S,nb,M,d
        length = r_s[:, :nb, :1] + r_m[:, :nb, 0, :1]
        if a_ext is not None:
            delay = np.rint(length[:, :, 0] / self.c * self.fs_int).astype(np.int64)
            delay = np.minimum(delay, back - d)
            idx = ((b_a + np.arange(nb)) * d - k_a + back)[None, :, None] - delay[:, :, None]
            idx = idx + np.arange(d)[None, None, :]
            res = res * a_ext[np.clip(idx, 0, a_ext.size - 1)][:, :, None, :]
        total = res.sum(axis=0)  # nb,M,d
        flat = np.moveaxis(total, 1, 0).reshape(self.n_mics, nb * d)
        off = k_a - b_a * d
        return np.asarray(flat[:, off : off + k_b - k_a], dtype=np.complex128)

    # ------------------------------------------------------------------ chunks
    def render_chunk(self, j: int, schedule: EmissionSchedule) -> npt.NDArray[np.float32]:
        """Output samples [j·C·L, (j+1)·C·L) as float32 (frames, mics)."""
        fs_int, fac, m = self.fs_int, self.factor, self.n_mics
        k_w0 = j * N_CHUNK - PAD
        n_out = fac * N_WINDOW
        df = fs_int / N_WINDOW
        t_w = (k_w0 + np.arange(N_WINDOW)) / fs_int
        spec = np.zeros((m, n_out // 2 + 1), dtype=np.complex128)
        for lo, hi, seg in schedule.between(k_w0 * fac, (k_w0 + N_WINDOW) * fac):
            if seg.carrier_hz is None:
                continue
            f0 = float(seg.carrier_hz)
            ka, kb = -(-lo // fac), -(-hi // fac)
            if kb <= ka:
                continue
            x = np.zeros((m, N_WINDOW), dtype=np.complex128)
            x[:, ka - k_w0 : kb - k_w0] = self.emitted(ka, kb, f0) * 10 ** (seg.level_dbfs / 20)
            kc = round(f0 / df)
            cycles = (f0 * (k_w0 * fac - seg.start) / self.fs) % 1.0
            ph = seg.phase + 2 * np.pi * (cycles + (f0 - kc * df) * (t_w - t_w[0]))
            x *= np.exp(1j * ph)[None, :]
            xf = np.fft.fftshift(np.fft.fft(x, axis=1), axes=1) * self.response(f0)
            self._place(spec, xf, kc, fac / 2)
        for tone in self.tones:
            kt = round(tone.spec.freq_hz / df)
            if not 0 < kt < n_out // 2:
                continue
            xb = tone.baseband(t_w, float(t_w[0]), kt * df, m)
            h = self._tone_response(kt * df)
            self._place(spec, np.fft.fftshift(np.fft.fft(xb, axis=1), axes=1) * h, kt, fac / 2)
        if self.music or self.speech:
            k_idx = self._scene_index(k_w0 + np.arange(N_WINDOW, dtype=np.int64))
            aud = np.zeros(N_WINDOW)
            for mus in self.music:
                aud += mus.audible(k_idx, fs_int)
            for sp in self.speech:
                aud += sp.audible(k_idx, fs_int)
            af = np.fft.rfft(aud) * self.audible_band
            spec[:, : af.size] += fac * self.audible_gain[:, None] * af[None, :]
        # single precision from here on: the output is float32 anyway
        full = np.fft.irfft(spec.astype(np.complex64), n=n_out, axis=1)
        y = np.asarray(full[:, PAD * fac : (PAD + N_CHUNK) * fac], dtype=np.float32)
        n0, n = j * N_CHUNK * fac, N_CHUNK * fac
        if self.noise_rms > 0:
            rng = keyed_rng(self.scenario.seed, 0x401, j)
            y += np.float32(self.noise_rms) * rng.standard_normal((m, n), dtype=np.float32)
        for burst in self.bursts:
            times = burst.spec.times
            if times:
                b = (
                    burst.render(n0, n, self.fs)
                    if not self.scenario.loop
                    else self._loop_burst(burst, n0, n)
                )
                y += (self.burst_gain[:, None] * b[None, :]).astype(np.float32)
        return self._adc(y).T.copy()

    def _loop_burst(self, burst: BurstModel, n0: int, n: int) -> FloatArray:
        period = round(self.scenario.duration_s * self.fs)
        start = n0 % period
        if start + n <= period:
            return burst.render(start, n, self.fs)
        first = period - start
        return np.concatenate(
            [burst.render(start, first, self.fs), burst.render(0, n - first, self.fs)]
        )

    @staticmethod
    def _place(spec: ComplexArray, xf: ComplexArray, k_center: int, scale: float) -> None:
        """Add a centred window spectrum at bins k_center ± N/2 of the real output spectrum."""
        lo = k_center - N_WINDOW // 2
        a, b = max(1, lo), min(spec.shape[1] - 1, lo + N_WINDOW)
        if b > a:
            spec[:, a:b] += scale * xf[:, a - lo : b - lo]

    def _adc(self, y: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Clip at full scale and quantise to the ADC word length (exact in float32)."""
        bits = self.scenario.device.adc_bits
        if bits is None:
            return np.clip(y, -1.0, 1.0, out=y)
        q = np.float32(2.0 ** (bits - 1))
        y *= q
        np.round(y, out=y)
        np.clip(y, -q, q - 1, out=y)
        y /= q
        return y


@lru_cache(maxsize=8)
def chunk_frames(sample_rate: int) -> int:
    """Output frames per render chunk at `sample_rate`."""
    return N_CHUNK * internal_factor(sample_rate)
