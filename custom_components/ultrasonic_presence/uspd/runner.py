"""Run the pipeline on a live source in a worker thread: what Home Assistant drives.

The runner owns the source's lifetime (open, emission, close), recovers from
`SourceError` with exponential backoff, applies the detector's emission duty cycle and
the user's emission switch, re-calibrates on request, and hands a `SensorState` per
decision to a callback. It never touches Home Assistant: the adapter marshals the
callbacks onto its event loop. `run_for` processes stream time synchronously on the
caller's thread (no pacing), so tests and the CLI drive exactly the same code.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .audio.factory import SourceSpec, open_source
from .audio.source import AudioSource, SourceError
from .detector import REASON_BURST, REASON_ROTATING, DetectorOptions, OccupancyDetector
from .dsp.calibration import CalibrationResult, calibrate
from .load import LoadMeter
from .pipeline import FrameResult, Pipeline

__all__ = [
    "Band",
    "PresenceRunner",
    "RunnerOptions",
    "SensorState",
    "SourceSpec",
    "check_hardware",
    "run_calibration",
]

_LOGGER = logging.getLogger(__name__)

BLOCK_S = 0.2
"""Audio read and processed per loop iteration: four feature hops.

Why not one hop (50 ms, as until 2026-12): each block costs the same few hundred numpy
calls whatever its length, so at one hop per block that overhead was most of the
pipeline's CPU. Three hops per block (their frames scored in one call) took it from 77×
to 117× real time with LiteRT, 48× to 73× numpy; on the machine type of 2026-12-07
(AVX2, no AVX-512: one LiteRT inference 0.155 instead of 0.068 ms) and with the
fan-rotor canceller, four hops run 103× against three's 93× (docs/bench/HISTORY.md).
The price is latency: a frame's decision waits for the rest of its block, up to
BLOCK_S (and the decimation filter's few ms) after the end of the audio it heard (its
stamp, `Decision.t`); `uspd bench` times walk-ins by when the runner has each decision:
each hop a block adds on average 25 ms to their latency."""
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Reopen delays after a source failure; the last repeats."""

TAKING_TURNS = threading.Lock()
"""Held while a room's pipeline processes a block: the rooms of one Home Assistant
process take turns. Their work is mostly short numpy calls under Python's interpreter
lock, so two rooms at once do not use a second core; they hand the lock back and forth
at every call instead: taking turns, two busy rooms got through 17–33 % more audio
with 50 ms blocks and 4–18 % with BLOCK_S (fewer hand-overs) when measured here (two
threads, 2 cores, both runtimes; docs/bench/HISTORY.md).
A room waits at most one other room's block (about a millisecond here) for its turn:
nothing against BLOCK_S.
`uspd bench --compute-only` reports two rooms run this way."""

AUTO_RECAL_S = 3600.0
"""At most one automatic re-calibration per hour of stream for a persisting health problem."""

Band = Literal["auto", "high", "low"]


@dataclass(frozen=True, kw_only=True)
class RunnerOptions(DetectorOptions):
    """Everything a user can tune (the HA options flow): the detector's knobs plus emission."""

    max_level_dbfs: float = -6.0
    band: Band = "auto"

    def detector_options(self) -> DetectorOptions:
        """The detector's share of the options."""
        return DetectorOptions(**{f.name: getattr(self, f.name) for f in fields(DetectorOptions)})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for storage."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunnerOptions:
        """Build from stored options, ignoring unknown keys (forward compatible)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, kw_only=True)
class SensorState:
    """What the adapter shows after each decision."""

    t: float
    occupied: bool
    motion_level: float
    motion_class: str
    carrier_hz: float
    snr_db: float
    emission_level_dbfs: float | None
    emission_enabled: bool
    music_present: bool
    reason: str
    """The detector's reason for this frame (changes from frame to frame)."""
    occupancy_reason: str
    """Why the room is in its current state (Decision.state_reason): steady between
    changes, so the occupancy entity can carry it without a new state (and recorder
    row) every second."""
    processing_load_percent: float | None = None
    """CPU time this sensor's pipeline takes per second of audio, % of one core, over the
    last load.LOAD_WINDOW_S (None until enough is measured)."""


@dataclass
class _Stats:
    """Recent decision statistics for diagnostics (bounded, JSON-able)."""

    decisions: int = 0
    occupied_decisions: int = 0
    state_changes: list[dict[str, Any]] = field(default_factory=list)
    class_counts: dict[str, int] = field(default_factory=dict)
    source_errors: int = 0
    recalibrations: int = 0
    quiet_times: list[dict[str, Any]] = field(default_factory=list)
    """The latest quiet times asked for (stream time, seconds, why): the answer to "why
    did it not turn on when I walked in?"."""
    fan_like_ignored: list[dict[str, Any]] = field(default_factory=list)
    """The latest stretches of fan-like motion an empty room ignored (stream time,
    seconds; detector.REASON_ROTATING): why a fan switching on did not turn it on, or,
    rarely, why someone walking in beside a fan was found late."""
    burst_ignored: list[dict[str, Any]] = field(default_factory=list)
    """The same for motion right after an ultrasonic burst (detector.REASON_BURST): why
    keys jingling beside a curtain did not turn the room on, or why someone who came in
    jingling them was found late."""

    def add(self, result: FrameResult, changed: bool) -> bool:
        """Count one decision; True if it starts a new stretch of ignored motion."""
        decision = result.decision
        stretches = {
            REASON_ROTATING: self.fan_like_ignored,
            REASON_BURST: self.burst_ignored,
        }.get(decision.reason)
        started = stretches is not None and _extend_stretches(stretches, decision.t)
        self.decisions += 1
        self.occupied_decisions += decision.occupied
        self.class_counts[decision.motion_class] = (
            self.class_counts.get(decision.motion_class, 0) + 1
        )
        if changed:
            self.state_changes.append(
                {
                    "t": round(decision.t, 2),
                    "occupied": decision.occupied,
                    "reason": decision.reason,
                }
            )
            del self.state_changes[:-20]
        return started


def _fan_rotor(pipeline: Pipeline | None) -> dict[str, Any] | None:
    """What the fan-rotor canceller (dsp.rotor) is doing: the answer to "is my fan being
    taken out of what the model hears?". None before the pipeline is built."""
    if pipeline is None:
        return None
    rotor = pipeline.chain.rotor
    period = rotor.period_s
    return {
        "enabled": rotor.enabled,
        "cancelling": rotor.active,
        "blade_period_ms": None if period is None else round(1e3 * float(period), 2),
        "cancelled_s": round(rotor.active_samples / rotor.rate, 1),
    }


_MERGE_S = 0.5
"""Ignored frames this close together are one stretch (a spin-up comes and goes)."""


def _extend_stretches(stretches: list[dict[str, Any]], t: float) -> bool:
    """Add an ignored frame at `t` to the latest stretch or start one (ten kept); True
    if it starts one."""
    last = stretches[-1] if stretches else None
    if last is not None and t - (last["t"] + last["seconds"]) <= _MERGE_S:
        last["seconds"] = round(t - last["t"], 2)
        return False
    stretches.append({"t": round(t, 2), "seconds": 0.0})
    del stretches[:-10]
    return True


def _source_health(source: AudioSource | None) -> dict[str, Any] | None:
    """What the open source says of itself: `health()` (a sound card) or the `health`
    a node last sent; None for sources without one (a simulated room, a WAV file)."""
    health: Any = getattr(source, "health", None)
    if callable(health):
        try:
            health = health()
        except Exception:  # a source closing under us must not break diagnostics
            _LOGGER.debug("source health unavailable", exc_info=True)
            return None
    return dict(health) if isinstance(health, dict) else None


def check_hardware(spec: SourceSpec) -> None:
    """Open the source and read a moment of audio; SourceError with a code if unusable."""
    source = open_source(spec)
    try:
        source.read(int(source.sample_rate * 0.1))
    finally:
        source.close()


def run_calibration(spec: SourceSpec, options: RunnerOptions) -> CalibrationResult:
    """Open the source and sweep carriers/levels (blocking; ≤ 10 s of audio)."""
    source = open_source(spec)
    try:
        return calibrate(source, max_level_dbfs=options.max_level_dbfs, band=options.band)
    finally:
        source.close()


class PresenceRunner:
    """One sensor: source + pipeline + detector, in a thread or stepped by the caller."""

    def __init__(
        self,
        spec: SourceSpec,
        calibration: CalibrationResult,
        options: RunnerOptions,
        on_state: Callable[[SensorState], None],
        on_availability: Callable[[bool, str | None], None],
        *,
        realtime: bool = True,
        on_calibrated: Callable[[CalibrationResult], None] | None = None,
        source_factory: Callable[[SourceSpec], AudioSource] = open_source,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        """Nothing is opened until `start` or `run_for`. `cpu_clock`: CPU seconds of the
        calling thread (the processing load's clock; tests give their own)."""
        self.spec = spec
        self.calibration = calibration
        self.options = options
        self._on_state = on_state
        self._on_availability = on_availability
        self._on_calibrated = on_calibrated
        self._realtime = realtime
        self._source_factory = source_factory
        self._source: AudioSource | None = None
        self._pipeline: Pipeline | None = None
        self._available: bool | None = None
        self._emission_enabled = True
        self._emission_applied: tuple[float | None, float] | None = None
        self._recalibrate = threading.Event()
        self._quiet_requests: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stats = _Stats()
        self._last_occupied: bool | None = None
        self._detector = OccupancyDetector(options.detector_options())
        self._stream_t = 0.0
        self._cpu_clock = cpu_clock
        self._load = LoadMeter()
        self._unattributed_cpu_s = 0.0  # blocks that completed no frame yet
        self._last_auto_recal_t: float | None = None
        self.health_problem: str | None = None
        self.last_error_code: str | None = None
        self._reported_code: str | None = None
        """SourceError code of the current outage (e.g. 'auth_failed' → reauthenticate)."""

    # --- control (any thread) -------------------------------------------------
    @property
    def runtime(self) -> str:
        """Inference runtime in use ('litert', 'numpy'), known once the pipeline exists."""
        return self._pipeline.runtime if self._pipeline else Pipeline.default_runtime()

    @property
    def emission_enabled(self) -> bool:
        """The user's emission switch."""
        return self._emission_enabled

    def set_emission_enabled(self, enabled: bool) -> None:
        """Turn the carrier on/off; applied before the next block is read."""
        self._emission_enabled = enabled

    def request_recalibration(self) -> None:
        """Re-run calibration on the open source at the next block boundary."""
        self._recalibrate.set()

    def ignore_new_motion(self, seconds: float, reason: str) -> None:
        """For `seconds` of stream from the next block on, motion cannot turn an empty
        room occupied (OccupancyDetector.ignore_new_motion): a fan or other interferer
        has just been switched on. Safe from any thread; nothing blocks."""
        if seconds > 0:
            with self._lock:
                self._quiet_requests.append((seconds, reason))

    def capture_features(self, seconds: float) -> npt.NDArray[np.float32]:
        """The last `seconds` of feature frames (never audio), for labelled clips."""
        with self._lock:
            if self._pipeline is None:
                return np.zeros((0,), dtype=np.float32)
            return self._pipeline.recent_features(seconds)

    def statistics(self) -> dict[str, Any]:
        """Recent decision statistics (JSON-able), with the source's own health where it
        reports one: a sound card's dropouts (xruns), a node's counters and load."""
        with self._lock:
            stats = asdict(self._stats)
            load = self._load.percent
            source = self._source
        stats["runtime"] = self.runtime
        stats["processing_load_percent"] = None if load is None else round(load, 2)
        stats["source_health"] = _source_health(source)
        stats["available"] = self._available
        stats["health_problem"] = self.health_problem
        stats["fan_rotor"] = _fan_rotor(self._pipeline)
        return stats

    # --- thread lifecycle ---------------------------------------------------------
    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._worker, name=f"uspd-{self.spec.unique_id()}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker, silence the emitter and release the hardware."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                _LOGGER.warning("worker thread did not stop within %.1f s", timeout)
            self._thread = None
        self._close_source()

    def run_for(self, seconds: float) -> list[SensorState]:
        """Process at least `seconds` of stream (whole blocks) synchronously; returns the
        states (also called back)."""
        states: list[SensorState] = []
        n_blocks = math.ceil(seconds / BLOCK_S - 1e-9)
        for _ in range(n_blocks):
            try:
                states.extend(self._step())
            except SourceError as err:
                self._fail(err)
                raise
        return states

    # --- internals -------------------------------------------------------------------
    def _worker(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                # Pace by blocks read: real hardware blocks in read() anyway, a
                # simulated room must not run faster than the clock on the wall.
                t_wall0 = time.monotonic()
                blocks = 0
                while not self._stop.is_set():
                    self._step()
                    attempt = 0
                    blocks += 1
                    if self._realtime:
                        ahead = blocks * BLOCK_S - (time.monotonic() - t_wall0)
                        if ahead > 0:
                            self._stop.wait(ahead)
            except SourceError as err:
                self._fail(err)
                delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                attempt += 1
                self._stop.wait(delay)
            except Exception:  # a bug must not kill the sensor silently
                _LOGGER.exception("unexpected error in the presence pipeline")
                self._fail(SourceError("internal error in the presence pipeline"))
                self._stop.wait(BACKOFF_S[-1])

    def _ensure_open(self) -> tuple[AudioSource, Pipeline]:
        if self._source is None:
            source = self._source_factory(self.spec)
            with self._lock:
                self._source, self._pipeline = source, None
            self._emission_applied = None
        if self._pipeline is None:
            source = self._source
            try:
                # The detector and the clock survive pipeline rebuilds (re-calibration,
                # reopen), so occupancy does not flap when the carrier changes.
                pipeline = Pipeline(
                    source.sample_rate,
                    source.channels,
                    self.calibration.carrier_hz,
                    calibration=self.calibration,
                    detector=self._detector,
                    t0=self._stream_t,
                )
            except ValueError as err:  # e.g. carrier above this card's Nyquist
                raise SourceError(str(err), "sample_rate_too_low") from err
            with self._lock:
                self._pipeline = pipeline
            self._set_available(True, None)
        return self._source, self._pipeline

    def _apply_emission(self, source: AudioSource, wanted: bool) -> tuple[float | None, float]:
        target: tuple[float | None, float] = (
            (self.calibration.carrier_hz, self.calibration.level_dbfs)
            if wanted
            else (None, self.calibration.level_dbfs)
        )
        if target != self._emission_applied:
            source.set_emission(*target)
            self._emission_applied = target
        return target

    def _step(self) -> list[SensorState]:
        source, pipeline = self._ensure_open()
        if self._recalibrate.is_set():
            self._recalibrate.clear()
            self._run_recalibration(source)
            source, pipeline = self._ensure_open()
        wanted = self._emission_enabled and pipeline.emission_wanted
        carrier, level = self._apply_emission(source, wanted)
        block = source.read(round(BLOCK_S * source.sample_rate))
        with self._lock:
            requests, self._quiet_requests = self._quiet_requests, []
        for seconds, reason in requests:
            self._detector.ignore_new_motion(pipeline.stream_time + seconds, reason)
            with self._lock:
                quiet = self._stats.quiet_times
                quiet.append(
                    {"t": round(pipeline.stream_time, 2), "seconds": seconds, "reason": reason}
                )
                del quiet[:-10]
        with TAKING_TURNS:
            cpu_start, stream_start = self._cpu_clock(), pipeline.stream_time
            results = pipeline.process(block, emission_on=carrier is not None)
            self._unattributed_cpu_s += self._cpu_clock() - cpu_start
        self._stream_t = pipeline.stream_time
        if self._stream_t > stream_start:  # timed by the stream it decided
            with self._lock:
                self._load.add(self._stream_t - stream_start, self._unattributed_cpu_s)
            self._unattributed_cpu_s = 0.0
        load = self._load.percent  # only this thread writes the meter
        states = []
        for result in results:
            decision = result.decision
            changed = decision.occupied != self._last_occupied
            self._last_occupied = decision.occupied
            with self._lock:
                new_stretch = self._stats.add(result, changed)
            if new_stretch:
                _LOGGER.debug("%s at %.2f s (the room is empty)", decision.reason, decision.t)
            self._note_health(result.health_problem)
            state = SensorState(
                t=decision.t,
                occupied=decision.occupied,
                motion_level=decision.motion_level,
                motion_class=decision.motion_class,
                carrier_hz=self.calibration.carrier_hz,
                snr_db=round(result.snr_db, 1),
                emission_level_dbfs=level if carrier is not None else None,
                emission_enabled=self._emission_enabled,
                music_present=result.music_present,
                reason=decision.reason,
                occupancy_reason=decision.state_reason,
                processing_load_percent=load,
            )
            states.append(state)
            self._on_state(state)
        return states

    def _note_health(self, problem: str | None) -> None:
        """Persisting carrier drop / new interference: re-calibrate once per AUTO_RECAL_S.

        If the problem survives a re-calibration it stays in `health_problem`, which
        the adapter shows to the user (a repair issue in Home Assistant).
        """
        self.health_problem = problem
        if problem is None:
            return
        last = self._last_auto_recal_t
        if last is None or self._stream_t - last >= AUTO_RECAL_S:
            self._last_auto_recal_t = self._stream_t
            _LOGGER.info("health check failed (%s): re-calibrating", problem)
            self._recalibrate.set()

    def _run_recalibration(self, source: AudioSource) -> None:
        _LOGGER.info("re-calibrating %s", self.spec.unique_id())
        result = calibrate(
            source, max_level_dbfs=self.options.max_level_dbfs, band=self.options.band
        )
        with self._lock:
            self.calibration = result
            self._stats.recalibrations += 1
            self._pipeline = None  # rebuilt on the new carrier by _ensure_open
        self._emission_applied = None
        if self._on_calibrated:
            self._on_calibrated(result)

    def _fail(self, err: SourceError) -> None:
        self.last_error_code = err.code
        with self._lock:
            self._stats.source_errors += 1
        self._close_source()
        self._set_available(False, str(err))

    def _set_available(self, available: bool, message: str | None) -> None:
        """Report changes only — and, while down, a change of cause (e.g. a node that
        was unreachable now refuses our key), so adapters can react to the new code."""
        code = None if available else self.last_error_code
        if available:
            self.last_error_code = None
        if (available, code) != (self._available, self._reported_code):
            self._available, self._reported_code = available, code
            self._on_availability(available, message)

    def _close_source(self) -> None:
        with self._lock:
            source, self._source, self._pipeline = self._source, None, None
        if source is not None:
            with contextlib.suppress(SourceError):
                source.set_emission(None, 0.0)
            source.close()
