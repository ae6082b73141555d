"""PresenceRunner and Pipeline on the simulated room: the code Home Assistant drives."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np
import pytest

from uspd import runner as runner_module
from uspd.audio.factory import SourceSpec, open_source
from uspd.audio.source import AudioBlock, AudioSource, SourceError
from uspd.dsp.calibration import CalibrationResult
from uspd.pipeline import Pipeline
from uspd.runner import PresenceRunner, RunnerOptions, SensorState, run_calibration

SPEC = SourceSpec(
    "simulated",
    {"scenario": "walk_in", "seed": 3, "sample_rate": 48000, "mics": 2, "duration_s": 60.0},
)


@pytest.fixture(scope="module")
def calibration() -> CalibrationResult:
    """One real calibration of the simulated device, shared by the tests."""
    return run_calibration(SPEC, RunnerOptions())


class RecordingSource:
    """Wraps a real source; records emission commands; can be told to fail."""

    def __init__(self, inner: AudioSource) -> None:
        self.inner = inner
        self.emissions: list[tuple[float | None, float]] = []
        self.fail_reads = False
        self.closed = False

    @property
    def sample_rate(self) -> int:
        return self.inner.sample_rate

    @property
    def channels(self) -> int:
        return self.inner.channels

    def read(self, frames: int) -> AudioBlock:
        if self.fail_reads:
            raise SourceError("unplugged", "disconnected")
        return self.inner.read(frames)

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        self.emissions.append((carrier_hz, level_dbfs))
        self.inner.set_emission(carrier_hz, level_dbfs)

    def close(self) -> None:
        self.closed = True
        self.inner.close()


def make_runner(
    calibration: CalibrationResult, **kwargs: Any
) -> tuple[PresenceRunner, list[RecordingSource], list[tuple[bool, str | None]]]:
    sources: list[RecordingSource] = []
    availability: list[tuple[bool, str | None]] = []

    def factory(spec: SourceSpec) -> AudioSource:
        src = RecordingSource(open_source(spec))
        sources.append(src)
        return src

    runner = PresenceRunner(
        SPEC,
        calibration,
        RunnerOptions(hold_time_s=5.0),
        lambda state: None,
        lambda ok, msg: availability.append((ok, msg)),
        realtime=False,
        source_factory=factory,
        **kwargs,
    )
    return runner, sources, availability


def test_walk_in_turns_occupied_and_reports_calibrated_carrier(
    calibration: CalibrationResult,
) -> None:
    runner, sources, availability = make_runner(calibration)
    states = runner.run_for(20.0)
    assert availability == [(True, None)]
    assert sources[0].emissions[0] == (calibration.carrier_hz, calibration.level_dbfs)
    assert any(s.occupied for s in states)
    assert all(s.carrier_hz == calibration.carrier_hz for s in states)
    assert states[-1].snr_db > 20
    stats = runner.statistics()
    assert stats["decisions"] == len(states) and stats["available"] is True
    assert stats["state_changes"][0]["occupied"] is False or stats["state_changes"][0]["t"] > 0
    features = runner.capture_features(2.0)
    assert features.shape == (40, 64, 2) and features.dtype == np.float32
    runner.stop()
    assert sources[0].closed and sources[0].emissions[-1][0] is None  # silenced on stop


def test_ignore_new_motion_delays_onset_then_detects(calibration: CalibrationResult) -> None:
    """A quiet time asked for from another thread (Home Assistant: a fan switched on)
    applies from the next block: the walk-in turns the room occupied only after it."""
    plain, _, _ = make_runner(calibration)
    first_on = next(s.t for s in plain.run_for(20.0) if s.occupied)
    quiet_s = first_on + 2.0
    runner, _, _ = make_runner(calibration)
    runner.ignore_new_motion(quiet_s, "fan.study switched on")
    states = runner.run_for(20.0)
    during = [s for s in states if s.t < quiet_s]
    assert not any(s.occupied for s in during)
    assert during[-1].reason == "ignoring new motion: fan.study switched on"
    assert during[-1].occupancy_reason == during[-1].reason
    assert any(s.occupied for s in states if s.t >= quiet_s)
    assert runner.statistics()["quiet_times"] == [
        {"t": 0.0, "seconds": quiet_s, "reason": "fan.study switched on"}
    ]


def test_emission_switch_off_holds_state_and_silences(calibration: CalibrationResult) -> None:
    runner, sources, _ = make_runner(calibration)
    runner.run_for(1.0)
    runner.set_emission_enabled(False)
    states = runner.run_for(2.0)
    assert sources[0].emissions[-1][0] is None
    assert all(s.emission_level_dbfs is None and not s.emission_enabled for s in states)
    assert all(s.reason == "emission off" for s in states[1:])
    runner.set_emission_enabled(True)
    assert runner.run_for(0.5)[-1].emission_level_dbfs == calibration.level_dbfs
    runner.stop()


def test_source_failure_then_recovery_in_worker_thread(
    calibration: CalibrationResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unplug → unavailable once → reopened with backoff → available again."""
    monkeypatch.setattr(runner_module, "BACKOFF_S", (0.01,))
    seen = threading.Event()
    runner, sources, availability = make_runner(calibration)
    original = runner._on_availability

    def on_availability(ok: bool, msg: str | None) -> None:
        original(ok, msg)
        if ok and len(availability) >= 3:
            seen.set()

    runner._on_availability = on_availability
    runner.run_for(0.2)
    assert runner.last_error_code is None
    sources[0].fail_reads = True
    runner.start()
    assert seen.wait(30), availability
    runner.stop()
    assert runner.last_error_code is None  # cleared once the source is back
    assert availability[:3] == [(True, None), (False, "unplugged"), (True, None)]
    assert sources[0].closed and len(sources) >= 2
    assert runner.statistics()["source_errors"] == 1
    assert not any(t.name.startswith("uspd-") for t in threading.enumerate())


def test_outage_cause_change_is_reported_again(calibration: CalibrationResult) -> None:
    """Unreachable, then refusing the key: adapters hear about the new cause once."""
    runner, _, availability = make_runner(calibration)
    runner.run_for(0.2)
    for code in ("disconnected", "disconnected", "auth_failed", "auth_failed"):
        runner._fail(SourceError(code, code))
    assert availability == [(True, None), (False, "disconnected"), (False, "auth_failed")]
    assert runner.last_error_code == "auth_failed"
    runner.run_for(0.1)
    assert availability[-1] == (True, None) and runner.last_error_code is None
    runner.stop()


def test_recalibration_keeps_occupancy(calibration: CalibrationResult) -> None:
    calibrated: list[CalibrationResult] = []
    runner, _, _ = make_runner(calibration, on_calibrated=calibrated.append)
    states = runner.run_for(12.0)
    assert states[-1].occupied
    runner.request_recalibration()
    after = runner.run_for(0.5)
    assert len(calibrated) == 1 and runner.statistics()["recalibrations"] == 1
    assert all(s.occupied for s in after)  # no flap while the carrier changes
    runner.stop()


def test_pipeline_is_chunking_invariant(calibration: CalibrationResult) -> None:
    """Same decisions whether the audio comes in one block or random-sized ones."""
    source = open_source(SPEC)
    source.set_emission(calibration.carrier_hz, calibration.level_dbfs)
    audio = source.read(48000 * 4)
    one = Pipeline(48000, 2, calibration.carrier_hz).process(audio)
    rng = np.random.default_rng(0)
    pipeline = Pipeline(48000, 2, calibration.carrier_hz)
    pieces = []
    pos = 0
    while pos < audio.shape[0]:
        n = int(rng.integers(1, 9000))
        pieces.extend(pipeline.process(audio[pos : pos + n]))
        pos += n
    assert [r.decision for r in one] == [r.decision for r in pieces]


def test_unsupported_carrier_for_source_is_a_source_error(
    calibration: CalibrationResult,
) -> None:
    high = CalibrationResult.from_dict({**calibration.to_dict(), "carrier_hz": 40_000.0})
    runner, _, availability = make_runner(high)  # 48 kHz card cannot carry 40 kHz
    with pytest.raises(SourceError) as err:
        runner.run_for(0.1)
    assert err.value.code == "sample_rate_too_low"
    assert availability[-1][0] is False
    assert runner.last_error_code == "sample_rate_too_low"


def test_processing_load_is_reported_once_measured(calibration: CalibrationResult) -> None:
    """The runner times each block's processing on its thread's CPU clock: the load is
    that time per second of stream decided, % of one core, from LOAD_MIN_S on."""
    ticks = iter(range(1_000_000))
    runner, _, _ = make_runner(calibration, cpu_clock=lambda: next(ticks) * 0.001)
    states = runner.run_for(8.0)
    # Each block reads the clock twice, one tick apart: 1 ms per block.
    early = [s for s in states if s.t < 4.5]
    late = [s for s in states if s.t > 6.0]
    assert early and all(s.processing_load_percent is None for s in early)
    assert late and all(s.processing_load_percent is not None for s in late)
    blocks = math.ceil(8.0 / runner_module.BLOCK_S)
    decided = states[-1].t  # a decision's stamp: the stream heard so far
    assert states[-1].processing_load_percent == pytest.approx(100.0 * 0.001 * blocks / decided)
    per_block = 100.0 * 0.001 / runner_module.BLOCK_S
    assert runner.statistics()["processing_load_percent"] == pytest.approx(per_block, abs=0.1)


def test_statistics_carry_the_sources_own_health(calibration: CalibrationResult) -> None:
    """Diagnostics show what the source says of itself: a sound card's `health()`
    (xruns), a node's last HEALTH frame (`health`); nothing for a simulated room."""

    class CardLike(RecordingSource):
        def health(self) -> dict[str, Any]:
            return {"xruns": {"input_overflow": 2}}

    class NodeLike(RecordingSource):
        health: dict[str, Any] = {"processing_load_percent": 7.5}  # noqa: RUF012

    class Closing(RecordingSource):
        def health(self) -> dict[str, Any]:
            raise RuntimeError("stream closed")

    for kind, expected in (
        (CardLike, {"xruns": {"input_overflow": 2}}),
        (NodeLike, {"processing_load_percent": 7.5}),
        (Closing, None),
        (RecordingSource, None),
    ):
        runner = PresenceRunner(
            SPEC,
            calibration,
            RunnerOptions(),
            lambda state: None,
            lambda ok, msg: None,
            realtime=False,
            source_factory=lambda spec, kind=kind: kind(open_source(spec)),
        )
        assert runner.statistics()["source_health"] is None  # nothing open yet
        runner.run_for(0.1)
        assert runner.statistics()["source_health"] == expected
        runner.stop()


def test_rooms_take_turns(calibration: CalibrationResult) -> None:
    """Two rooms' workers never process a block at the same time (runner.TAKING_TURNS):
    under Python's interpreter lock that would only cost both of them."""
    inside = 0
    most = 0
    guard = threading.Lock()
    real_process = Pipeline.process

    def watched(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        try:
            time.sleep(0.002)  # hand the interpreter to the other room meanwhile
            return real_process(self, *args, **kwargs)
        finally:
            with guard:
                inside -= 1

    runners = [make_runner(calibration)[0] for _ in range(2)]
    errors: list[BaseException] = []

    def run(runner: PresenceRunner) -> None:
        try:
            runner.run_for(1.0)
        except BaseException as err:  # reported by the assert below
            errors.append(err)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Pipeline, "process", watched)
        threads = [threading.Thread(target=run, args=(r,)) for r in runners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert most == 1


def test_sensor_state_fields() -> None:
    """The adapter's contract: every field it reads exists with the right type."""
    state = SensorState(
        t=0.0,
        occupied=False,
        motion_level=0.0,
        motion_class="none",
        carrier_hz=40_000.0,
        snr_db=50.0,
        emission_level_dbfs=None,
        emission_enabled=True,
        music_present=False,
        reason="no motion",
        occupancy_reason="no motion",
    )
    assert not state.occupied and state.emission_level_dbfs is None
    options = RunnerOptions.from_dict({"sensitivity": 0.7, "unknown": 1})
    assert options.sensitivity == 0.7
    assert RunnerOptions.from_dict(options.to_dict()) == options


def test_statistics_keep_stretches_of_ignored_fan_like_motion() -> None:
    """Diagnostics list when an empty room ignored fan-like motion, and motion right
    after an ultrasonic burst, each apart: frames less than half a second apart are one
    stretch (a spin-up comes and goes), ten at most."""
    from uspd.detector import REASON_BURST, REASON_ROTATING, Decision
    from uspd.pipeline import FrameResult

    def frame(i: int) -> FrameResult:
        t = i * 0.05
        fan_like = 20 <= i < 40 or 46 <= i < 52 or 180 <= i < 184
        after_burst = 100 <= i < 105
        decision = Decision(
            t=t,
            occupied=False,
            motion_level=0.0,
            motion_class="none",
            emission_wanted=True,
            sensitive=False,
            reason=REASON_ROTATING if fan_like else REASON_BURST if after_burst else "no motion",
            state_reason="no motion",
        )
        return FrameResult(
            decision=decision,
            probabilities=None,
            carrier_dbfs=-30.0,
            snr_db=40.0,
            music_present=False,
            health_problem=None,
            warming_up=False,
        )

    stats = runner_module._Stats()
    started = [stats.add(frame(i), False) for i in range(200)]
    assert stats.fan_like_ignored == [{"t": 1.0, "seconds": 1.55}, {"t": 9.0, "seconds": 0.15}]
    assert stats.burst_ignored == [{"t": 5.0, "seconds": 0.2}]
    assert [i for i, s in enumerate(started) if s] == [20, 100, 180]


def test_statistics_show_the_fan_rotor_being_cancelled() -> None:
    """A floor fan (15 rev/s, 3 blades) is tracked at its blade period and cancelled; a
    room without one passes untouched, and diagnostics say which."""
    spec = SourceSpec(
        "simulated",
        {"scenario": "floor_fan", "seed": 0, "sample_rate": 48000, "mics": 2, "duration_s": 30.0},
    )
    options = RunnerOptions(hold_time_s=5.0)
    fan = PresenceRunner(
        spec, run_calibration(spec, options), options, lambda _: None, lambda *_: None,
        realtime=False,
    )  # fmt: skip
    assert fan.statistics()["fan_rotor"] is None  # nothing built yet
    fan.run_for(10.0)
    rotor = fan.statistics()["fan_rotor"]
    fan.stop()
    assert rotor["enabled"] and rotor["cancelling"]
    assert rotor["blade_period_ms"] == pytest.approx(1e3 / (15.0 * 3), rel=0.01)
    assert 8.0 <= rotor["cancelled_s"] <= 10.0


def test_statistics_show_no_fan_rotor_in_a_room_without_one(
    calibration: CalibrationResult,
) -> None:
    runner, _, _ = make_runner(calibration)
    runner.run_for(10.0)
    assert runner.statistics()["fan_rotor"] == {
        "enabled": True,
        "cancelling": False,
        "blade_period_ms": None,
        "cancelled_s": 0.0,
    }
    runner.stop()
