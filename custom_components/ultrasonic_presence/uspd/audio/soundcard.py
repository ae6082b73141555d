"""`SoundCardSource`: full-duplex play + record through PortAudio (`sounddevice`).

The output plays the calibrated carrier (a phase-continuous sine, level changes ramped
over one callback so they do not click); the input delivers every channel raw, as
float32 — raw means no OS processing: use a hardware device (ALSA `hw:`), or a sound
server source without echo cancellation, noise suppression or AGC, which destroy the
ultrasonic band. Any rate 44.1-192 kHz, 1-8 input channels.

Audio arrives in PortAudio's callback thread and waits in a bounded queue for `read`.
Over/underflow status flags (xruns) are counted and reported by `health()`; more than
MAX_XRUNS within XRUN_WINDOW_S raise SourceError('disconnected') so the runner reopens
the device. A PortAudio error (device unplugged) or a stalled stream raises
SourceError('disconnected'); unknown devices and unsupported rates raise
'device_not_found' and 'sample_rate_too_low' up front.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import sounddevice as sd

from ..dsp.frontend import MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from .source import AudioBlock, SourceError

_LOGGER = logging.getLogger(__name__)

MAX_XRUNS = 20
XRUN_WINDOW_S = 10.0
MAX_QUEUE_S = 2.0
"""Captured audio held for a slow reader before the oldest is dropped (counted as xrun)."""
STALL_S = 2.0
"""No audio for this long (beyond the request) means the device is gone."""
STARTUP_S = 6.0
"""Grace for the first audio after opening (sound servers take ~2 s to start a stream)."""
LATENCY_S = 0.02
"""Per-direction buffering: play + record latency stays under calibration's 50 ms settle
time, with room for Python's callback scheduling."""
DeviceRef = int | str | None


_open_streams = 0
"""Sources open in this process: PortAudio can only re-scan devices when none are."""
_PORTAUDIO_LOCK = threading.RLock()
"""Serialises re-scans (terminate + initialise) with stream opens and closes: the HA
config flow lists devices from one thread while a runner may (re)open from another."""


def refresh_devices() -> bool:
    """Re-scan devices (PortAudio lists them once, at initialisation): finds a re-plugged
    card. Only possible while no stream is open; returns whether it happened."""
    with _PORTAUDIO_LOCK:
        if _open_streams:
            return False
        sd._terminate()
        sd._initialize()
        return True


def list_devices(*, refresh: bool = False) -> list[dict[str, Any]]:
    """Every PortAudio device: index, name, host API, channels, default rate."""
    if refresh:
        refresh_devices()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
    except sd.PortAudioError as err:
        raise SourceError(f"PortAudio: {err}", "device_not_found") from err
    return [
        {
            "index": int(dev["index"]),
            "name": str(dev["name"]),
            "hostapi": str(apis[dev["hostapi"]]["name"]),
            "max_input_channels": int(dev["max_input_channels"]),
            "max_output_channels": int(dev["max_output_channels"]),
            "default_samplerate": float(dev["default_samplerate"]),
        }
        for dev in devices
    ]


def resolve_device(ref: DeviceRef, kind: str) -> int:
    """PortAudio index for an index, an exact or unique partial name, or None (default).

    Re-scans once when nothing matches, so a card plugged in after start is found.
    """
    try:
        return _resolve(ref, kind, list_devices())
    except SourceError:
        if not refresh_devices():
            raise
        return _resolve(ref, kind, list_devices())


def _resolve(ref: DeviceRef, kind: str, devices: list[dict[str, Any]]) -> int:
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    usable = [d for d in devices if d[key] > 0]
    if ref is None or ref == "":
        default = sd.default.device[0 if kind == "input" else 1]
        if default is None or int(default) < 0:
            if usable:
                return int(usable[0]["index"])
            raise SourceError(f"no {kind} sound device found", "device_not_found")
        return int(default)
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        index = int(ref)
        if any(d["index"] == index for d in usable):
            return index
        raise SourceError(f"no {kind} sound device #{index}", "device_not_found")
    exact = [d for d in usable if d["name"] == ref]
    partial = [d for d in usable if str(ref).lower() in d["name"].lower()]
    found = exact or partial
    if len(found) != 1:
        names = ", ".join(repr(d["name"]) for d in usable) or "none"
        problem = "no" if not found else "more than one"
        raise SourceError(
            f"{problem} {kind} sound device matches {ref!r} (available: {names})",
            "device_not_found",
        )
    return int(found[0]["index"])


class SoundCardSource:
    """One duplex PortAudio stream (implements uspd.audio.source.AudioSource)."""

    def __init__(
        self,
        input_device: DeviceRef = None,
        output_device: DeviceRef = None,
        sample_rate: int = 96_000,
        channels: int | None = None,
        *,
        latency: str | float = LATENCY_S,
    ) -> None:
        """Open and start the stream; SourceError with a code when that is impossible."""
        if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
            raise SourceError(
                f"sample rate {sample_rate} Hz: ultrasonic sensing needs "
                f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz",
                "sample_rate_too_low",
            )
        self._in = resolve_device(input_device, "input")
        self._out = resolve_device(output_device, "output")
        info = sd.query_devices(self._in)
        available = int(info["max_input_channels"])
        n = min(available, MAX_CHANNELS) if channels is None else int(channels)
        if not 1 <= n <= min(available, MAX_CHANNELS):
            raise SourceError(
                f"{info['name']!r} has {available} input channels; asked for {n} (1-8)",
                "device_not_found",
            )
        for device, ch, check in (
            (self._in, n, sd.check_input_settings),
            (self._out, 1, sd.check_output_settings),
        ):
            try:
                check(device=device, channels=ch, samplerate=sample_rate, dtype="float32")
            except (sd.PortAudioError, ValueError) as err:
                raise SourceError(
                    f"{sd.query_devices(device)['name']!r} cannot run at {sample_rate} Hz "
                    f"({err}); choose a 96 kHz-capable device or another rate",
                    "sample_rate_too_low",
                ) from err
        self._rate = sample_rate
        self._channels = n
        self._opened = time.monotonic()
        self._cond = threading.Condition()
        self._queue: collections.deque[npt.NDArray[np.float32]] = collections.deque()
        self._queued = 0
        self._max_queue = round(MAX_QUEUE_S * sample_rate)
        self._error: str | None = None
        self._closed = False
        self._xrun_times: collections.deque[float] = collections.deque()
        self.xruns = {
            "input_overflow": 0,
            "input_underflow": 0,
            "output_underflow": 0,
            "output_overflow": 0,
            "reader_overflow": 0,
        }
        # Emission state, read by the callback (tuple swap is atomic).
        self._target: tuple[float, float] = (0.0, 0.0)  # (freq Hz, amplitude)
        self._amplitude = 0.0
        self._phase = 0.0
        self._freq = 0.0
        # Two half-duplex streams on the same clock domain: a duplex stream through a
        # sound server (ALSA's pulse plugin) reports spurious input underflows.
        global _open_streams  # noqa: PLW0603 - process-wide PortAudio state
        self._streams: list[sd.InputStream | sd.OutputStream] = []
        self._counted = False
        try:
            with _PORTAUDIO_LOCK:
                _open_streams += 1
                self._counted = True
                self._streams.append(
                    sd.OutputStream(
                        samplerate=sample_rate, device=self._out, channels=1,
                        dtype="float32", latency=latency, callback=self._output,
                        finished_callback=self._finished, dither_off=True,
                    )
                )  # fmt: skip
                self._streams.append(
                    sd.InputStream(
                        samplerate=sample_rate, device=self._in, channels=n,
                        dtype="float32", latency=latency, callback=self._input,
                        finished_callback=self._finished, dither_off=True,
                    )
                )  # fmt: skip
            for stream in self._streams:
                stream.start()
        except sd.PortAudioError as err:
            self.close()
            raise SourceError(f"cannot open the sound card: {err}", "device_not_found") from err

    # ------------------------------------------------------------------ AudioSource
    @property
    def sample_rate(self) -> int:
        """Samples per second per channel."""
        return self._rate

    @property
    def channels(self) -> int:
        """Input channels delivered."""
        return self._channels

    def read(self, frames: int) -> AudioBlock:
        """Next `frames` captured samples (frames, channels); blocks until they arrive."""
        now = time.monotonic()
        deadline = max(now + STALL_S, self._opened + STARTUP_S) + frames / self._rate
        with self._cond:
            while self._queued < frames:
                self._check()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SourceError(
                        "the sound card stopped delivering audio (unplugged?)", "disconnected"
                    )
                self._cond.wait(min(left, 0.5))
            self._check()
            parts: list[npt.NDArray[np.float32]] = []
            need = frames
            while need:
                head = self._queue[0]
                if head.shape[0] <= need:
                    parts.append(self._queue.popleft())
                    need -= head.shape[0]
                else:
                    parts.append(head[:need])
                    self._queue[0] = head[need:]
                    need = 0
            self._queued -= frames
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        """Play `carrier_hz` at peak `level_dbfs` (None: silence) from the next callback."""
        if carrier_hz is None:
            self._target = (self._target[0], 0.0)
            return
        if not 0 < carrier_hz < self._rate / 2:
            raise SourceError(f"carrier {carrier_hz} Hz above Nyquist", "sample_rate_too_low")
        self._target = (float(carrier_hz), float(10.0 ** (min(level_dbfs, 0.0) / 20.0)))

    def close(self) -> None:
        """Stop and release the device; later reads raise SourceError."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        with _PORTAUDIO_LOCK:
            for stream in self._streams:
                with contextlib.suppress(sd.PortAudioError):
                    stream.abort()
                    stream.close()
            self._streams = []
            if self._counted:
                global _open_streams  # noqa: PLW0603 - process-wide PortAudio state
                _open_streams -= 1
                self._counted = False

    def health(self) -> dict[str, Any]:
        """Xrun counters and stream facts (what a node reports to Home Assistant)."""
        return {
            "xruns": dict(self.xruns),
            "sample_rate": self._rate,
            "channels": self._channels,
            "latency_s": [float(st.latency) for st in self._streams],
            "error": self._error,
        }

    # ------------------------------------------------------------------ internals
    def _check(self) -> None:
        if self._closed:
            raise SourceError("the sound card source is closed", "disconnected")
        if self._error is not None:
            raise SourceError(f"the sound card failed: {self._error}", "disconnected")

    def _finished(self) -> None:
        if not self._closed:
            with self._cond:
                self._error = self._error or "the audio stream ended (device removed?)"
                self._cond.notify_all()

    def _output(self, outdata: Any, frames: int, _time: Any, status: Any) -> None:
        if status:
            self._count_xruns(status)
        self._play(outdata, frames)

    def _input(self, indata: Any, frames: int, _time: Any, status: Any) -> None:
        if status:
            self._count_xruns(status)
        block = np.array(indata, dtype=np.float32, copy=True)
        with self._cond:
            self._queue.append(block)
            self._queued += frames
            while self._queued > self._max_queue:
                dropped = self._queue.popleft()
                self._queued -= dropped.shape[0]
                self._note_xrun("reader_overflow")
            self._cond.notify_all()

    def _play(self, outdata: Any, frames: int) -> None:
        freq, amplitude = self._target
        if freq != self._freq and self._amplitude == 0.0:
            self._freq = freq
        step = 2.0 * math.pi * self._freq / self._rate
        phases = self._phase + step * np.arange(frames)
        ramp = np.linspace(self._amplitude, amplitude, frames, endpoint=False)
        outdata[:, 0] = (ramp * np.sin(phases)).astype(np.float32)
        self._phase = float((self._phase + step * frames) % (2.0 * math.pi))
        self._amplitude = amplitude
        if freq != self._freq:  # a new carrier: ramp down now, up on the new one next
            self._amplitude = 0.0
            outdata[:, 0] *= np.linspace(1.0, 0.0, frames, dtype=np.float32)

    def _count_xruns(self, status: Any) -> None:
        for flag in ("input_overflow", "input_underflow", "output_underflow", "output_overflow"):
            if getattr(status, flag, False):
                self._note_xrun(flag)

    def _note_xrun(self, flag: str) -> None:
        self.xruns[flag] += 1
        now = time.monotonic()
        self._xrun_times.append(now)
        while self._xrun_times and now - self._xrun_times[0] > XRUN_WINDOW_S:
            self._xrun_times.popleft()
        if len(self._xrun_times) > MAX_XRUNS and self._error is None:
            self._error = (
                f"{len(self._xrun_times)} audio dropouts in {XRUN_WINDOW_S:g} s "
                "(CPU overloaded or USB bandwidth exhausted)"
            )
            _LOGGER.warning("sound card: %s", self._error)
