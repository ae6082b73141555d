"""`uspd bench` scoring against ground truth, and its calibrated, varied scenes."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from uspd import bench
from uspd.detector import REASON_WARMING_UP, DetectorOptions
from uspd.scoring import ModelScorer
from uspd.sim import Burst, Curtain, Scenario
from uspd.sim.people import SeatedPerson, WalkingPerson
from uspd.sim.truth import TruthFrame


def _truth(door_t: float, range_t: float, end_t: float = 20.0) -> list[TruthFrame]:
    """A walker appearing at `door_t` 6 m away, within 4 m from `range_t`."""
    frames = []
    for i in range(round(end_t / 0.05)):
        t = i * 0.05
        present = t >= door_t
        distance = None if not present else (6.0 if t < range_t else 3.0)
        frames.append(
            TruthFrame(
                t=t,
                present=present,
                motion="major" if present else "none",
                distance_m=distance,
                interferers=frozenset(),
                pet=False,
            )
        )
    return frames


def _scene(group: str) -> bench.BenchScene:
    return bench.BenchScene(group, "walk", Scenario(duration_s=20.0))


def _decisions(on_t: float | None, false_on: float | None = None) -> list[tuple[float, bool]]:
    out = []
    for i in range(400):
        t = i * 0.05
        occupied = (on_t is not None and t >= on_t) or (
            false_on is not None and false_on <= t < false_on + 1.0
        )
        out.append((t, occupied))
    return out


def test_latency_counts_from_entering_the_range() -> None:
    """Door at 5 s (6 m away), within 4 m at 8 s, occupied at 8.5 s: 0.5 s latency."""
    outcome = bench._score(_scene("walk"), _decisions(8.5), _truth(5.0, 8.0))
    assert outcome.detected
    assert outcome.latency_s == pytest.approx(0.5)
    assert outcome.distance_m == pytest.approx(3.0)
    assert outcome.false_alarms == 0


def test_latency_waits_for_the_runner_to_have_the_decision() -> None:
    """What a person sees comes when the live runner has a decision (`available_t`);
    a false alarm keeps the stamp of the audio that raised it."""
    decisions = _decisions(8.5)
    later = np.array([t for t, _ in decisions]) + 0.15
    outcome = bench._score(_scene("walk"), decisions, _truth(5.0, 8.0), available_t=later)
    assert outcome.latency_s == pytest.approx(0.65)
    early = bench._score(
        _scene("walk"), _decisions(None, false_on=2.0), _truth(5.0, 8.0), available_t=later
    )
    assert early.false_alarm_t == (2.0,)
    with pytest.raises(ValueError, match="availability times"):
        bench._score(_scene("walk"), decisions, _truth(5.0, 8.0), available_t=later[:-1])


def test_availability_is_the_end_of_the_block_that_completes_a_frame() -> None:
    """`_available_t` against the runner's own loop: a chain fed BLOCK_S blocks from
    the stream's start, each frame noted at the end of the block it came out of."""
    from uspd.dsp.chain import DspChain
    from uspd.runner import BLOCK_S

    rate, carrier = 96_000, 35_500.0
    rng = np.random.default_rng(1)
    t = np.arange(3 * rate) / rate
    audio = 0.1 * np.cos(2 * np.pi * carrier * t)[:, None] + 1e-4 * rng.standard_normal((t.size, 4))
    chain = DspChain(rate, carrier, 4)
    block = round(BLOCK_S * rate)
    came_out: list[float] = []
    for start in range(0, t.size, block):
        frames = chain.process(audio[start : start + block].astype(np.float32))
        came_out += [(start + block) / rate] * frames.features.shape[0]
    expected = bench._available_t(DspChain(rate, carrier, 4), len(came_out))
    assert np.array_equal(expected, came_out)
    # Never before the audio it stamps has been heard, at most a block and the filter after.
    stamps = np.arange(1, len(came_out) + 1) * chain.frame_hop_s
    wait = expected - stamps
    assert wait.min() > 0.0
    assert wait.max() <= BLOCK_S + chain.frontend.latency_samples / rate + 1e-9


def test_missed_and_false_alarm_before_the_door() -> None:
    late = bench._score(_scene("walk"), _decisions(12.5), _truth(5.0, 8.0))
    assert not late.detected  # 4.5 s after entering the range
    early = bench._score(_scene("walk"), _decisions(None, false_on=2.0), _truth(5.0, 8.0))
    assert early.false_alarms == 1 and early.false_alarm_t == (2.0,)
    assert not early.detected


def test_finding_a_person_already_seated_is_no_false_alarm() -> None:
    """'mixed' scenes: someone sits from the start; the walker comes in at 5 s."""
    truth = [
        replace(f, present=True, motion="minor", distance_m=2.0) if not f.present else f
        for f in _truth(5.0, 8.0)
    ]
    outcome = bench._score(_scene("walk"), _decisions(None, false_on=2.0), truth)
    assert outcome.false_alarms == 0


def test_empty_scene_counts_every_onset() -> None:
    decisions = [(i * 0.05, 100 <= i < 120 or 200 <= i < 210) for i in range(400)]
    outcome = bench._score(bench.BenchScene("empty", "floor_fan", Scenario()), decisions, [])
    assert outcome.false_alarms == 2
    assert outcome.false_alarm_t == (5.0, 10.0)


def test_outcomes_name_everything_in_the_scene() -> None:
    """A "curtain" scene's alarm can come from a jingle beside it: the report says so."""
    scenario = Scenario(actors=(Curtain(), Burst(kind="jingle", times=(10.5,))))
    decisions = [(i * 0.05, 100 <= i < 120) for i in range(400)]
    outcome = bench._score(bench.BenchScene("empty", "curtain", scenario), decisions, [])
    assert outcome.actors == ("Curtain", "Burst:jingle")
    (entry,) = bench._scenes_to_look_at([outcome])
    assert entry["actors"] == ["Curtain", "Burst:jingle"] and entry["false_alarm_t"] == [5.0]


def test_seated_scenes_differ_and_are_calibrated() -> None:
    """Each seed gives its own room and walk; calibration sets carrier and level."""
    a, b = (bench._walk_sit_leave(bench.BENCH_SEED_BASE + 200_000 + i) for i in range(2))
    assert a.room != b.room
    for sc in (a, b):
        walker, sitter, leaver = sc.actors[:3]
        assert isinstance(walker, WalkingPerson) and not walker.leaves
        assert isinstance(sitter, SeatedPerson) and sitter.position == walker.path[-1]
        assert isinstance(leaver, WalkingPerson) and leaver.path[-1] == walker.path[0]
    tuned = bench.calibrated(a)
    assert tuned.actors == a.actors
    assert (tuned.carrier_hz, tuned.level_dbfs) != (a.carrier_hz, a.level_dbfs)
    assert 18_000 <= tuned.carrier_hz <= 45_000
    assert -60.0 <= tuned.level_dbfs <= -6.0


def test_pipeline_warms_up_before_declaring_presence() -> None:
    """Music from the first second (a bench scene whose untrained canceller once turned
    the room occupied at 0.6 s): the first WARMUP_S after the carrier appears are scored
    and reported but cannot declare presence."""
    from uspd.pipeline import WARMUP_S, Pipeline
    from uspd.sim.library import random_scenario
    from uspd.sim.source import SimulatedSource

    sc = random_scenario("music", 7_005_000, duration_s=4.0, sample_rate=96_000, n_mics=4)
    sc = sc.replace(carrier_hz=18_000.0, level_dbfs=-9.5)
    source = SimulatedSource(sc)
    audio = source.read(4 * 96_000)
    pipeline = Pipeline(96_000, 4, 18_000.0)
    results = [
        r for s in range(0, len(audio), 4_800) for r in pipeline.process(audio[s : s + 4_800])
    ]
    scored = [r for r in results if r.probabilities is not None]
    first = scored[0].decision.t
    early = [r for r in scored if r.decision.t < first + WARMUP_S - 0.06]
    assert len(early) >= 35
    # Replaying the recorded evidence through a fresh detector reproduces the decisions
    # (how the bench gets continuity at another hold time without re-running the DSP).
    assert bench._replay(results, DetectorOptions()) == bench._occupancy(results)
    assert all(r.warming_up and not r.decision.occupied for r in early)
    assert all(r.decision.reason == REASON_WARMING_UP for r in early)
    assert not any(
        r.warming_up or r.decision.reason == REASON_WARMING_UP
        for r in scored
        if r.decision.t > first + WARMUP_S
    )


def test_a_brief_gap_in_the_evidence_does_not_restart_the_warm_up() -> None:
    """Loud music outweighing the carrier in its band for a frame or three (no evidence
    then) must not restart the 2 s warm-up; a real gap (≥ CARRIER_BLIP_S) does."""
    from uspd.detector import MotionClass
    from uspd.dsp.features import FEATURE_SHAPE, FeatureFrames
    from uspd.pipeline import CARRIER_BLIP_S, WARMUP_S, Pipeline

    class Still:
        runtime = "test"

        def score(self, contexts: object, frames: object, indices: list[int]) -> np.ndarray:
            return np.eye(4, dtype=np.float32)[[MotionClass.NO_MOTION] * len(indices)]

    def frames(ok: list[bool]) -> FeatureFrames:
        n = len(ok)
        return FeatureFrames(
            features=np.full((n, *FEATURE_SHAPE[1:]), -130.0, np.float32),
            carrier=np.full((n, 2), 0.01 + 0j),
            carrier_ok=np.array(ok),
            settled=np.ones(n, bool),
            music=np.zeros(n, bool),
            sensitivity_reduced=np.zeros(n, bool),
            music_level_db=np.full(n, -40.0),
            residual_level_db=np.full(n, -60.0),
            guard_level_db=np.full(n, -90.0),
        )

    warm = round(WARMUP_S / 0.05) + 10  # 2.5 s of evidence: warmed up
    blip = round(CARRIER_BLIP_S / 0.05)
    for gap, restarts in ((2, False), (blip - 1, False), (blip, True), (60, True)):
        pipeline = Pipeline(48_000, 2, 20_000.0, scorer=Still())
        pipeline.decide(frames([True] * warm))
        after = pipeline.decide(frames([False] * gap + [True] * 5))[gap:]
        assert all(r.warming_up == restarts for r in after), gap


def test_false_alarm_upper_bound() -> None:
    """0 alarms in 30 h bounds the rate at ≈ 0.1/h (the product target needs that much)."""
    assert bench._poisson_upper95(0, 30.0) == pytest.approx(0.0999, abs=1e-3)
    assert bench._poisson_upper95(4, 0.3) > 4 / 0.3


def test_walkers_who_never_come_within_range_are_kept_apart() -> None:
    """Only walk-ins within RANGE_M count towards the in-range detection rate."""
    near = bench._score(_scene("walk"), _decisions(8.5), _truth(5.0, 8.0))
    far = bench._score(_scene("walk"), _decisions(None), _truth(5.0, 30.0))
    assert near.in_range and not far.in_range
    figures = bench._aggregate([near, far])
    assert figures["detection_rate"] == 0.5
    assert figures["detection_rate_in_range"] == 1.0
    assert figures["detection_in_range"] == {"detected": 1, "scenes": 1, "rate": 1.0}


def test_latency_within_range_leaves_out_walkers_timed_from_the_door() -> None:
    """A walker who never comes within RANGE_M is timed from the door; the in-range
    latency (the target's) leaves them out, the all-walk-ins latency does not."""
    near = bench._score(_scene("walk"), _decisions(8.5), _truth(5.0, 8.0))
    far = bench._score(_scene("walk"), _decisions(7.5), _truth(5.0, 30.0))
    assert near.detected and far.detected and not far.in_range
    figures = bench._aggregate([near, far])
    assert figures["latency_in_range_p50_s"] == pytest.approx(0.5)
    assert figures["latency_in_range_p95_s"] == pytest.approx(0.5)
    assert figures["latency_p95_s"] > 2.0  # the far walker's 2.5 s from the door


def test_latency_counts_from_the_end_of_warm_up() -> None:
    """Someone already walking in when the stream starts: timed from warm-up's end."""
    outcome = bench._score(_scene("walk"), _decisions(2.6), _truth(0.2, 0.5), ready_t=2.3)
    assert outcome.detected
    assert outcome.latency_s == pytest.approx(0.3)


def test_replay_reproduces_the_pipelines_decisions() -> None:
    """A walk-past with a short hold (on, then off): replaying the recorded evidence
    through a fresh detector gives the pipeline's own decisions, frame for frame."""
    from uspd.detector import OccupancyDetector
    from uspd.pipeline import Pipeline
    from uspd.sim.library import build_scenario
    from uspd.sim.source import SimulatedSource

    sc = build_scenario("walk_past", seed=2, sample_rate=48_000, n_mics=2)
    source = SimulatedSource(sc)
    source.set_emission(sc.carrier_hz, sc.level_dbfs)
    audio = source.read(round(sc.duration_s * 48_000))
    options = DetectorOptions(hold_time_s=3.0)
    pipeline = Pipeline(48_000, 2, sc.carrier_hz, detector=OccupancyDetector(options))
    results = [
        r for s in range(0, len(audio), 2_400) for r in pipeline.process(audio[s : s + 2_400])
    ]
    occupancy = bench._occupancy(results)
    states = [o for _, o in occupancy]
    assert True in states and states[-1] is False  # it turned on and cleared again
    assert bench._replay(results, options) == occupancy
    assert bench._replay(results, DetectorOptions()) != occupancy  # the hold matters


def test_switch_hints_replay_ignores_a_fan_spin_up() -> None:
    """Told when the fan was switched on, the replay ignores the spin-up's major-motion
    frames for the quiet time and counts major motion after it, as the runner would."""
    from uspd.detector import OccupancyDetector
    from uspd.pipeline import FrameResult
    from uspd.sim.fans import FloorFan
    from uspd.sim.library import random_scenario
    from uspd.sim.randomness import Switches

    fan_on, fan_cycled = (
        FloorFan(position=(1.0, 1.0), switches=Switches((3.0, 10.0, 20.0))),
        FloorFan(position=(2.0, 1.0), switches=Switches((5.0, 8.0), initial=True)),
    )
    scenario = random_scenario("empty", 5, duration_s=30.0).replace(actors=(fan_on, fan_cycled))
    assert bench._switch_ons(scenario) == [3.0, 8.0, 20.0]

    def frame(t: float, p_major: float) -> FrameResult:
        p = np.array([1.0 - p_major, p_major, 0.0, 0.0], np.float32)
        decision = OccupancyDetector().update(t, p)  # any Decision carrying this time
        return FrameResult(
            decision=decision,
            probabilities=p,
            carrier_dbfs=-20.0,
            snr_db=40.0,
            music_present=False,
            health_problem=None,
            warming_up=False,
        )

    # Quiet room, then the spin-up reads as major motion 0.7–1.2 s after the switch.
    results = [frame(3.0 + 0.05 * i, 0.9 if 14 <= i < 24 else 0.0) for i in range(100)]
    options = DetectorOptions(hold_time_s=15.0)
    assert any(o for _, o in bench._replay(results, options))
    assert not any(o for _, o in bench._replay(results, options, quiet_from=[3.0]))
    # Major motion that lasts past the quiet time still turns the room occupied.
    walking = [frame(3.0 + 0.05 * i, 0.9 if i >= 14 else 0.0) for i in range(100)]
    first = next(t for t, o in bench._replay(walking, options, quiet_from=[3.0]) if o)
    assert first == pytest.approx(3.0 + bench.DEFAULT_QUIET_S + 0.05)


def test_suite_reports_det_points_consistent_with_its_headline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A two-scene suite (empty room with a fan, walk-in) at 48 kHz: one DET point per
    setting for each scorer; the point at the default setting reproduces the headline
    figures, and a higher sensitivity never misses more walk-ins."""
    from uspd.sim.library import random_scenario

    scenes = [
        bench.BenchScene(
            "empty",
            "floor_fan",
            random_scenario("floor_fan", 11, duration_s=10.0, sample_rate=48_000, n_mics=2),
        ),
        bench.BenchScene(
            "walk",
            "walk",
            random_scenario("walk", 12, duration_s=12.0, sample_rate=48_000, n_mics=2),
        ),
    ]
    monkeypatch.setattr(bench, "build_suite", lambda scale, groups=None, **kwargs: scenes)
    report = bench.run_suite(0.0)
    model, conventional = report.scorers["pipeline"], report.scorers["conventional"]
    assert [p["value"] for p in model["det"]] == list(bench.SENSITIVITIES)
    assert [p["value"] for p in conventional["det"]] == list(bench.CONVENTIONAL_ON_DB)
    for figures, default in ((model, 0.5), (conventional, 6.0)):
        point = next(p for p in figures["det"] if p["value"] == default)
        assert point["false_alarms_per_hour"] == figures["false_alarms_per_hour_without_pets"]
        in_range = figures["detection_rate_in_range"]
        assert point["miss_rate"] == pytest.approx(1.0 - in_range, nan_ok=True)
    misses = [p["miss_rate"] for p in model["det"]]
    assert misses == sorted(misses, reverse=True)
    assert report.compute["pipeline_realtime_factor"] > 0
    assert any("DET pipeline" in line for line in bench.table(report))
    hinted = model["with_switch_hints"]
    assert "with_switch_hints" not in conventional
    assert hinted["quiet_s"] == bench.DEFAULT_QUIET_S
    assert sum(hinted["false_alarms"].values()) <= sum(
        v["alarms"] for v in model["false_alarms"].values()
    )
    assert any("told of fan/HVAC switch-ons" in line for line in bench.table(report))
    for figures in (model, conventional):
        # The scenes behind the headline: every non-pet empty-room alarm is listed.
        listed = figures["scenes_to_look_at"]
        assert all(e["seed"] in {11, 12} for e in listed)
        alarms = sum(v["alarms"] for k, v in figures["false_alarms"].items() if k != "pet")
        assert sum(e["false_alarms"] for e in listed if e["group"] == "empty") == alarms


def test_suite_groups_select_the_same_scenes() -> None:
    """`--only empty` builds exactly the empty rooms a full run at that scale has."""
    full = bench.build_suite(0.25)
    empty = bench.build_suite(0.25, frozenset({"empty"}))
    assert [s.group for s in empty] == ["empty"] * len(bench.EMPTY_KINDS)
    assert [s.scenario for s in empty] == [s.scenario for s in full if s.group == "empty"]


def test_live_pipeline_speed_is_measured_per_runtime() -> None:
    # A figure for README (Home Assistant OS runs the numpy executor); never asserted
    # against a target, the code path must just work on a short scene.
    speeds = bench.live_pipeline_realtime_factors(["numpy"], seconds=1.5, rounds=1)
    assert list(speeds) == ["numpy"] and speeds["numpy"] > 0.0


def test_two_rooms_speed_is_measured_both_ways() -> None:
    # README's multi-room figure: the code path on a short scene, never a target.
    speeds = bench.two_rooms_realtime_factors("numpy", seconds=1.0, rounds=1)
    assert set(speeds) == {"taking_turns", "at_once"}
    assert all(speed > 0.0 for speed in speeds.values())


def test_cli_compute_only_skips_the_suite(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`uspd bench --compute-only --json` prints the speeds and never builds the suite."""
    import json

    from uspd import cli

    def no_suite(*args: object, **kwargs: object) -> None:
        raise AssertionError("the suite must not run")

    monkeypatch.setattr(bench, "run_suite", no_suite)
    monkeypatch.setattr(bench, "compute_figures", lambda: {"dsp_realtime_factor": 123.0})
    assert cli.main(["bench", "--compute-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"dsp_realtime_factor": 123.0}


def test_development_suite_is_the_same_recipe_on_other_seeds() -> None:
    """`uspd bench --dev`: the benchmark's kinds and groups, none of its (or training's)
    scenes, so choosing on it leaves the benchmark unseen."""
    bench_suite = bench.build_suite(0.25)
    dev_suite = bench.build_suite(0.25, seed_base=bench.DEV_SEED_BASE)
    assert [(s.group, s.kind) for s in dev_suite] == [(s.group, s.kind) for s in bench_suite]
    bench_seeds = {s.scenario.seed for s in bench_suite}
    dev_seeds = {s.scenario.seed for s in dev_suite}
    assert len(dev_seeds) == len(dev_suite) and not dev_seeds & bench_seeds
    assert min(dev_seeds) >= bench.DEV_SEED_BASE > max(bench_seeds)
    assert bench.SPEED_SCENE_SEED not in dev_seeds


def test_selection_suite_is_the_recipe_on_seeds_nothing_else_uses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`uspd bench --select`: the same kinds and groups on a third set of seeds, apart
    from training's (below 1,000,000), the benchmark's and the development suite's, so
    ranking a run's candidates on it leaves both unseen; it cannot be asked for
    together with --dev."""
    from uspd import cli

    suites = {
        base: bench.build_suite(1.0, seed_base=base, fan_rooms=400)
        for base in (bench.SELECT_SEED_BASE, bench.DEV_SEED_BASE, bench.BENCH_SEED_BASE)
    }
    select = suites[bench.SELECT_SEED_BASE]
    for other in (suites[bench.DEV_SEED_BASE], suites[bench.BENCH_SEED_BASE]):
        assert [(s.group, s.kind) for s in select] == [(s.group, s.kind) for s in other]
    seeds = {base: {s.scenario.seed for s in suite} for base, suite in suites.items()}
    assert len(seeds[bench.SELECT_SEED_BASE]) == len(select)
    assert min(seeds[bench.SELECT_SEED_BASE]) >= 1_000_000
    assert max(seeds[bench.SELECT_SEED_BASE]) < min(seeds[bench.BENCH_SEED_BASE])
    assert max(seeds[bench.BENCH_SEED_BASE]) < min(seeds[bench.DEV_SEED_BASE])

    asked: list[int] = []

    def fake_suite(*args: object, seed_base: int, **kwargs: object) -> None:
        asked.append(seed_base)
        raise KeyboardInterrupt  # stop before anything is rendered

    monkeypatch.setattr(bench, "run_suite", fake_suite)
    for flags, base in (
        ([], bench.BENCH_SEED_BASE),
        (["--dev"], bench.DEV_SEED_BASE),
        (["--select"], bench.SELECT_SEED_BASE),
    ):
        with pytest.raises(KeyboardInterrupt):
            cli.main(["bench", "--quiet", "--no-compute", *flags])
        assert asked.pop() == base
    with pytest.raises(SystemExit):
        cli.main(["bench", "--dev", "--select"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_bench_scores_a_candidate_model(tmp_path: Path) -> None:
    """`uspd bench --model FILE`: that file in place of the shipped model; a file the
    engine cannot run is one clear error before any scene is rendered."""
    from uspd import cli
    from uspd.commands.bench import _scorers
    from uspd.model import DEFAULT_MODEL_PATH

    scorers = _scorers([str(DEFAULT_MODEL_PATH)])
    assert scorers is not None and set(scorers) == {"pipeline", "conventional"}
    pipeline = scorers["pipeline"]()
    assert isinstance(pipeline, ModelScorer)
    assert pipeline.classifier.sources == (str(DEFAULT_MODEL_PATH),)
    assert _scorers(None) is None

    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a model")
    for path in (broken, tmp_path / "missing.tflite"):
        assert cli.main(["bench", "--model", str(path), "--quiet"]) == 2


def test_bench_runs_the_model_on_the_chosen_runtime() -> None:
    """`uspd bench --runtime numpy`: the shipped (or a --model) file on the numpy executor,
    the runtime Home Assistant OS has; LiteRT only where it is importable, and asking
    for it elsewhere is one clear error before any scene."""
    from uspd import cli
    from uspd.commands.bench import _scorers
    from uspd.model import DEFAULT_MODEL_PATH, litert_available

    for models in (None, [str(DEFAULT_MODEL_PATH)]):
        scorers = _scorers(models, "numpy")
        assert scorers is not None and set(scorers) == {"pipeline", "conventional"}
        pipeline = scorers["pipeline"]()
        assert isinstance(pipeline, ModelScorer) and pipeline.runtime == "numpy"
    if litert_available():
        litert = _scorers(None, "litert")
        assert litert is not None and litert["pipeline"]().runtime == "litert"
    else:
        assert cli.main(["bench", "--runtime", "litert", "--quiet"]) == 2


def test_cached_suite_decides_as_the_rendered_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`uspd bench --cache DIR`: a second run reads every calibration and scene from the
    cache (nothing rendered or calibrated) and reports exactly the same figures; an entry
    made by other code, or a truncated one, is never read."""
    from uspd import benchcache
    from uspd.sim.library import random_scenario

    raw = [
        (group, kind, random_scenario(kind, seed, duration_s=8.0, sample_rate=48_000, n_mics=2))
        for group, kind, seed in (("empty", "floor_fan", 21), ("walk", "walk", 22))
    ]

    def suite(scale: float, groups: object = None, **kwargs: object) -> list[bench.BenchScene]:
        assert "cache" not in kwargs  # the suite is drawn; each scene is calibrated as it is run
        return [bench.BenchScene(g, k, sc) for g, k, sc in raw]

    monkeypatch.setattr(bench, "build_suite", suite)
    first = bench.run_suite(0.0, det=False, cache=benchcache.SceneCache(tmp_path))
    assert first.suite["cache"] == {"hits": 0, "misses": 4}  # 2 calibrations, 2 scenes

    def must_not_run(*args: object) -> None:
        raise AssertionError("a cached scene was rendered or calibrated again")

    monkeypatch.setattr(bench, "_render", must_not_run)
    monkeypatch.setattr(bench, "calibrated", must_not_run)
    second = bench.run_suite(0.0, det=False, cache=benchcache.SceneCache(tmp_path))
    assert second.suite["cache"] == {"hits": 4, "misses": 0}
    assert second.scorers == first.scorers
    assert second.compute["pipeline_realtime_factor"] > 0  # from the DSP time stored

    scenes = [
        bench.BenchScene(g, k, bench._calibrated(sc, benchcache.SceneCache(tmp_path)))
        for g, k, sc in raw
    ]
    truncated = benchcache.SceneCache(tmp_path)
    path = truncated._path("evidence", scenes[0].scenario)
    assert path is not None
    path.write_bytes(path.read_bytes()[:100])  # a run killed mid-write
    assert truncated.evidence(scenes[0].scenario) is None
    assert truncated.evidence(scenes[1].scenario) is not None
    monkeypatch.setattr(benchcache, "code_fingerprint", lambda: "other code")
    stale = benchcache.SceneCache(tmp_path)
    assert stale.evidence(scenes[1].scenario) is None and stale.misses == 1
    assert stale.calibrated(raw[1][2]) is None


def test_walk_in_range_is_the_walkers_own_distance() -> None:
    """'mixed' scenes: someone seated 2 m away from the start, a walker coming in from
    the far wall at 5 s. Latency counts from the walker crossing 4 m (≈ 0.5 s later at
    1 m/s), not from the door; a walk-in over before the warm-up ends is not in the
    target's population."""
    from uspd.sim.people import WalkingPerson

    def scene(start_s: float) -> bench.BenchScene:
        walker = WalkingPerson(
            path=((4.8, 2.0), (1.3, 2.0)), speed_mps=1.0, start_s=start_s, leaves=False
        )
        return bench.BenchScene("walk", "mixed", Scenario(duration_s=20.0, actors=(walker,)))

    seated = [
        replace(f, present=True, motion="major" if f.t >= 5.0 else "minor", distance_m=2.0)
        for f in _truth(5.0, 5.0)
    ]
    outcome = bench._score(scene(5.0), _decisions(7.0), seated, ready_t=2.3)
    assert outcome.in_range and outcome.detected
    assert outcome.latency_s is not None and 1.2 < outcome.latency_s < 1.8  # not 2.0
    assert outcome.distance_m is not None and outcome.distance_m < 4.0

    moving = [replace(f, motion="major") for f in seated]
    early = bench._score(scene(-3.0), _decisions(None), moving, ready_t=2.3)
    assert early.distance_m is not None and early.distance_m < 4.0
    assert not early.in_range  # within range only before the pipeline was ready (0.5 s)


def test_fan_rooms_add_the_next_seeds_of_the_fan_kinds() -> None:
    """`uspd bench --fan-rooms N`: the scale's scenes, then N more of each fan kind (the
    next seeds, so the same rooms at any scale with room for them), nothing else."""
    plain = bench.build_suite(0.5, seed_base=bench.DEV_SEED_BASE)
    more = bench.build_suite(0.5, seed_base=bench.DEV_SEED_BASE, fan_rooms=3)
    before = {s.scenario for s in plain}
    added = [s for s in more if s.scenario not in before]
    assert [(s.group, s.kind) for s in added] == [("empty", "floor_fan")] * 3 + [
        ("walk", "mixed")
    ] * 3
    floor_fan = [s.scenario.seed for s in more if s.kind == "floor_fan"]
    assert floor_fan == list(range(floor_fan[0], floor_fan[0] + 2 + 3))
    bigger = bench.build_suite(1.25, frozenset({"walk"}), seed_base=bench.DEV_SEED_BASE)
    assert {s.scenario for s in added if s.kind == "mixed"} <= {s.scenario for s in bigger}
    with pytest.raises(ValueError, match="fan-rooms must be 0 to 996"):
        bench.build_suite(0.5, fan_rooms=997)


def test_cli_rejects_fan_rooms_beyond_the_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    from uspd import cli

    assert cli.main(["bench", "--fan-rooms", "-1", "--no-compute"]) != 0
    assert "--fan-rooms must be 0 to" in capsys.readouterr().err


def test_scenes_run_in_several_processes_give_the_same_figures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`uspd bench --jobs 2`: each scene calibrated, rendered and decided in a worker
    process, reported exactly as one process reports it (the DET sweep included); a
    number of processes that is not a whole number ≥ 1 is refused."""
    from uspd import cli
    from uspd.sim.library import random_scenario

    scenes = [
        bench.BenchScene(
            group, kind, random_scenario(kind, seed, duration_s=8.0, sample_rate=48_000, n_mics=2)
        )
        for group, kind, seed in (
            ("empty", "floor_fan", 31),
            ("walk", "walk", 32),
            ("walk", "mixed", 33),
        )
    ]
    monkeypatch.setattr(bench, "build_suite", lambda scale, groups=None, **kwargs: scenes)
    lines: list[str] = []
    one = bench.run_suite(0.0)
    two = bench.run_suite(0.0, progress=lines.append, jobs=2)
    assert two.scorers == one.scorers and two.suite == one.suite
    assert lines == [f"[{n}/3] {s.group}/{s.kind}" for n, s in enumerate(scenes, 1)]
    assert two.compute["pipeline_realtime_factor"] > 0
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            cli.main(["bench", "--jobs", bad])
        assert "whole number of processes" in capsys.readouterr().err


def test_the_cache_keeps_the_evidence_without_the_rotor_canceller_apart(
    tmp_path: Path,
) -> None:
    """`uspd bench --no-cancel-rotor` featurises scenes with another DSP chain: its
    evidence is stored beside the default chain's, and neither is read for the other."""
    from uspd import benchcache
    from uspd.dsp.features import empty_frames
    from uspd.sim.library import random_scenario

    sc = random_scenario("walk", 22, duration_s=8.0, sample_rate=48_000, n_mics=2)
    cache = benchcache.SceneCache(tmp_path)
    cache.store_evidence(sc, benchcache.SceneEvidence([], empty_frames(2), 1.0), "no-rotor")
    assert cache.evidence(sc) is None
    kept = cache.evidence(sc, "no-rotor")
    assert kept is not None and kept.dsp_cpu_s == 1.0


def test_the_clearing_group_is_walk_sit_leave_with_music_and_fans() -> None:
    """`uspd bench`'s clearing group: the seated group's recipe on seeds of its own, with
    music, a running floor fan or both added; `--only clearing` builds the same scenes."""
    full = bench.build_suite(0.25)
    clearing = [s for s in full if s.group == "clearing"]
    assert [s.kind for s in clearing] == list(bench.CLEARING_KINDS)
    assert bench.build_suite(0.25, frozenset({"clearing"})) == clearing
    seated = {s.scenario.seed for s in full if s.group == "seated"}
    assert len({s.scenario.seed for s in clearing} | seated) == len(clearing) + len(seated)
    added = {s.kind: sorted(type(a).__name__ for a in s.scenario.actors) for s in clearing}
    plain = sorted(
        type(a).__name__ for a in bench._walk_sit_leave(clearing[0].scenario.seed).actors
    )
    assert added["leave_music"] == sorted([*plain, "Music"])
    leave_fan = bench.walk_sit_leave_with("leave_fan", clearing[0].scenario.seed)
    assert sorted(type(a).__name__ for a in leave_fan.actors) == sorted([*plain, "FloorFan"])
    with pytest.raises(KeyError, match="leave_fan_music"):
        bench.walk_sit_leave_with("music", 1)


def test_clearing_is_reported_per_kind_and_kept_out_of_the_headline() -> None:
    """A clearing room that does not go empty in time counts against its kind (and is
    listed to look at), not in the seated figures or the walk-in rates."""

    def left(kind: str, seed: int, clear_s: float, continuity: float = 1.0) -> bench.SceneOutcome:
        group = "seated" if kind == "walk_sit_leave" else "clearing"
        return bench.SceneOutcome(
            kind, group, 100.0, seed=seed, detected=clear_s != math.inf, in_range=True,
            continuity=continuity, continuity_default_hold=(1.0 + continuity) / 2,
            clear_delay_s=None if clear_s == math.inf else clear_s,
        )  # fmt: skip

    quiet = left("walk_sit_leave", 1, 0.5)
    held = left("leave_music", 2, math.inf, continuity=0.5)  # never went empty
    late = left("leave_music", 3, 9.0)
    in_time = left("leave_fan", 4, 0.0)
    figures = bench._aggregate([quiet, held, late, in_time])
    assert figures["seated_continuity"] == 1.0
    assert figures["clear_beyond_hold_s_max"] == 0.5
    assert figures["detection_in_range"] == {"detected": 1, "scenes": 1, "rate": 1.0}
    music = figures["clearing"]["leave_music"]
    assert (music["detected"], music["scenes"], music["not_cleared"]) == (0, 2, 1)
    assert music["clear_beyond_hold_s_max"] == 9.0 and music["seated_continuity"] == 0.75
    assert music["seated_continuity_default_hold"] == 0.875
    assert figures["clearing"]["leave_fan"]["detected"] == 1
    assert figures["clearing"]["leave_fan_music"]["scenes"] == 0
    listed = bench._scenes_to_look_at([quiet, held, late, in_time])
    assert [(e["seed"], e["cleared_late"], e["missed_in_range"]) for e in listed] == [
        (2, True, False),
        (3, True, False),
    ]


def test_the_cli_knows_every_scene_group() -> None:
    from uspd.commands.bench import GROUP_NAMES

    assert frozenset(GROUP_NAMES) == bench.GROUPS
