"""`SimulatedSource`: a scenario as an AudioSource (the same interface as a sound card).

Rendering happens in fixed chunks on an absolute grid (≈0.5 s) and is a pure function of
(scenario, emission schedule), so any read sizes return the same samples as one long
read. `set_emission` takes effect at the next sample read (within one internal sample,
≤ 0.16 ms, smoothed by the ±10 ms band limit); echoes already in flight are not
modelled, which only matters for the first few ms after a carrier change.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ..audio.source import AudioBlock, SourceError
from .emission import EmissionSchedule
from .render import Renderer, chunk_frames
from .scenario import Scenario
from .truth import FRAME_S, TruthFrame, truth_frames

ComplexArray = npt.NDArray[np.complex128]


class SimulatedSource:
    """Streaming simulated room (implements uspd.audio.source.AudioSource)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.renderer = Renderer(scenario)
        self.schedule = EmissionSchedule(
            scenario.sample_rate, scenario.carrier_hz, scenario.level_dbfs
        )
        self._chunk = chunk_frames(scenario.sample_rate)
        self._cached: tuple[int, AudioBlock] | None = None
        self._pos = 0
        self._truth_next = 0
        self._closed = False
        self._end = round(scenario.duration_s * scenario.sample_rate)

    # ------------------------------------------------------------------ AudioSource
    @property
    def sample_rate(self) -> int:
        """Samples per second per channel."""
        return self.scenario.sample_rate

    @property
    def channels(self) -> int:
        """Number of microphones."""
        return self.scenario.n_mics

    @property
    def position(self) -> int:
        """Frames delivered so far."""
        return self._pos

    def read(self, frames: int) -> AudioBlock:
        """Next `frames` samples (frames, channels) float32.

        Raises SourceError after close() or, for non-looping scenarios, once the
        scenario's duration has been read completely.
        """
        if self._closed:
            raise SourceError("simulated source is closed", "disconnected")
        if not self.scenario.loop and self._pos >= self._end:
            raise SourceError(f"scenario '{self.scenario.name}' finished", "disconnected")
        out = np.empty((frames, self.channels), dtype=np.float32)
        done = 0
        while done < frames:
            j, off = divmod(self._pos + done, self._chunk)
            block = self._render(j)
            take = min(frames - done, self._chunk - off)
            out[done : done + take] = block[off : off + take]
            done += take
        self._pos += frames
        return out

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        """Change the carrier/level from the next sample read on."""
        self.schedule.set(self._pos, carrier_hz, level_dbfs)
        # chunks before the current one are never rendered again (window margin: 1 chunk)
        self.schedule.prune((self._pos // self._chunk - 1) * self._chunk)
        if self._cached is not None and (self._cached[0] + 1) * self._chunk > self._pos:
            self._cached = None

    def close(self) -> None:
        """Stop; later reads raise SourceError."""
        self._closed = True
        self._cached = None

    def _render(self, j: int) -> AudioBlock:
        if self._cached is None or self._cached[0] != j:
            self._cached = (j, self.renderer.render_chunk(j, self.schedule))
        return self._cached[1]

    # ------------------------------------------------------------------ ground truth
    def truth_frames(self, t_start: float, t_end: float) -> list[TruthFrame]:
        """Truth frames with start times in [t_start, t_end) (20 Hz grid)."""
        i0, i1 = math.ceil(t_start / FRAME_S - 1e-9), math.ceil(t_end / FRAME_S - 1e-9)
        if i1 <= i0:
            return []
        times = np.asarray(np.arange(i0, i1) * FRAME_S, dtype=np.float64)
        r = self.renderer
        return truth_frames(r.truth_models, times, r.scene_time(times), r.device.center)

    def truth_until(self, t: float) -> list[TruthFrame]:
        """Frames since the previous call up to time t (streaming consumers)."""
        i1 = math.ceil(t / FRAME_S - 1e-9)
        frames = self.truth_frames(self._truth_next * FRAME_S, i1 * FRAME_S)
        self._truth_next = max(self._truth_next, i1)
        return frames

    def truth_at(self, t: float) -> TruthFrame:
        """The frame containing time t."""
        i = math.floor(t / FRAME_S + 1e-9)
        return self.truth_frames(i * FRAME_S, (i + 1) * FRAME_S)[0]

    # ------------------------------------------------------------------ hardware facts
    def device_response(self, f_hz: float, mic: int = 0) -> complex:
        """Speaker × mic × ADC response at f_hz (relative; calibration's ground truth)."""
        return complex(self.renderer.device.response(np.array([f_hz]))[mic, 0])

    def received_carrier(self, f_hz: float, level_dbfs: float = 0.0) -> ComplexArray:
        """Complex amplitude of a static carrier at each mic (direct + room), no people."""
        r = self.renderer
        gains = r.static_paths(f_hz).gains.sum(axis=0)
        resp = r.device.response(np.array([f_hz]))[:, 0]
        return np.asarray(gains * resp * 10 ** (level_dbfs / 20), dtype=np.complex128)

    def carrier_snr_db(
        self, f_hz: float, level_dbfs: float | None = None, bandwidth_hz: float = 10.0
    ) -> float:
        """True carrier-to-(noise + tones) ratio at f_hz in a `bandwidth_hz` bin, mean over
        mics, empty room: what a calibration sweep should find (level defaults to the
        scenario's)."""
        sc = self.scenario
        level = sc.level_dbfs if level_dbfs is None else level_dbfs
        carrier = float(np.mean(np.abs(self.received_carrier(f_hz, level)) ** 2) / 2)
        noise = 0.0
        if sc.device.mic_noise_dbfs_hz is not None:
            noise += 10 ** (sc.device.mic_noise_dbfs_hz / 10) * bandwidth_hz
        if sc.device.adc_bits is not None:
            q = 2.0 ** (1 - sc.device.adc_bits)
            noise += q * q / 12 / (sc.sample_rate / 2) * bandwidth_hz
        for freq, tone_db, drift, duty in self.tone_layout():
            if abs(freq - f_hz) <= bandwidth_hz / 2 + drift:
                noise += duty * 10 ** (tone_db / 10) / 2
        return float(10 * np.log10(carrier / max(noise, 1e-300)))

    def tone_layout(self) -> list[tuple[float, float, float, float]]:
        """Interfering tones as (freq_hz, level_dbfs, drift_hz, duty 0..1)."""
        out = []
        for tone in self.renderer.tones:
            sp = tone.spec
            duty = 1.0 if sp.off_s <= 0 else sp.on_s / (sp.on_s + sp.off_s)
            out.append((sp.freq_hz, sp.level_dbfs, sp.drift_hz, duty))
        return out
