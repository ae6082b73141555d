"""The burst test: emitted ultrasound beyond human speeds marks the classifier's context."""

from __future__ import annotations

import numpy as np

from uspd.burst import (
    BACKGROUND_FROM_S,
    BACKGROUND_TO_S,
    BURST_RISE_DB,
    TAINT_FRAMES,
    BurstTracker,
)
from uspd.dsp.features import FRAME_HOP_S

FLOOR = -94.0
HISTORY = round((BACKGROUND_FROM_S - BACKGROUND_TO_S) / FRAME_HOP_S) + 1


def feed(tracker: BurstTracker, levels: np.ndarray) -> list[bool]:
    return [tracker.update(float(x)) for x in levels]


def test_a_jingle_marks_its_frames_and_the_context_after_it() -> None:
    """A 1.3 s jingle 25 dB over the floor: marked from its first frame for as long as the
    classifier's context (TAINT_FRAMES, the current frame included) holds its last one;
    the quiet room around it is not."""
    rng = np.random.default_rng(0)
    levels = FLOOR + rng.normal(0.0, 1.0, 400)
    start, length = 200, 26
    levels[start : start + length] += 25.0 + rng.normal(0.0, 3.0, length)
    marked = np.array(feed(BurstTracker(), levels))
    assert not marked[:start].any()
    last = start + length - 1
    assert marked[start : last + TAINT_FRAMES].all()
    assert not marked[last + TAINT_FRAMES :].any()


def test_steady_and_slowly_varying_levels_are_background() -> None:
    """A running fan's blade tips (high but steady) and an oscillating fan's slow swing
    (6 dB over 10 s) are not bursts; nor is a rise just under BURST_RISE_DB."""
    rng = np.random.default_rng(1)
    t = np.arange(1200) * FRAME_HOP_S
    fan = -60.0 + 6.0 * np.sin(2 * np.pi * t / 10.0) + rng.normal(0.0, 1.0, t.size)
    assert not any(feed(BurstTracker(), fan))
    step = np.full(300, FLOOR)
    step[150:] += BURST_RISE_DB - 1.0
    assert not any(feed(BurstTracker(), step))


def test_a_level_that_stays_up_becomes_background() -> None:
    """A fan switched on: its rise is marked until the background (the median of 3 s to
    1 s before) holds it, then no longer."""
    levels = np.full(400, FLOOR)
    levels[100:] = FLOOR + 30.0
    marked = feed(BurstTracker(), levels)
    assert marked[100]
    assert not any(marked[100 + round(BACKGROUND_FROM_S / FRAME_HOP_S) + TAINT_FRAMES :])


def test_no_verdict_without_history() -> None:
    """Until the background window has frames, nothing is a burst (start-up is warm-up)."""
    levels = np.full(HISTORY + 10, FLOOR)
    levels[HISTORY - 10 : HISTORY - 1] += 40.0
    levels[HISTORY + 5] += 40.0
    marked = feed(BurstTracker(), levels)
    assert not any(marked[: HISTORY - 1])
    assert marked[HISTORY + 5]


def test_chunking_does_not_matter() -> None:
    """Streaming state: the same levels give the same marks whoever feeds them."""
    rng = np.random.default_rng(4)
    levels = FLOOR + rng.normal(0.0, 8.0, 300)
    first, second = BurstTracker(), BurstTracker()
    assert feed(first, levels) == feed(second, levels[:110]) + feed(second, levels[110:])


def test_key_jingle_beside_a_curtain_raises_no_alarm() -> None:
    """The benchmark's only curtain alarms (scene 7003150): a key jingle at 10.5 s, then
    the curtain sways while the jingle is still in the classifier's context, and the
    model calls it major motion. The frames from the jingle on are marked as after a
    burst and the room stays empty; the same frames without the mark turn it occupied."""
    from dataclasses import replace

    from uspd.bench import BenchScene, _decide, _evidence, _replay, calibrated
    from uspd.detector import REASON_BURST, DetectorOptions
    from uspd.scoring import load_default_scorer
    from uspd.sim.library import random_scenario

    scene = calibrated(random_scenario("curtain", 7003150, duration_s=45.0))
    (jingle,) = [a for a in scene.actors if type(a).__name__ == "Burst"]
    (jingle_t,) = jingle.times
    bench_scene = BenchScene("empty", "curtain", scene)
    chain, parts, _, _ = _evidence(bench_scene, None)
    results = _decide(bench_scene, chain, parts, load_default_scorer(), DetectorOptions())
    assert not any(r.decision.occupied for r in results)
    marked = [r.decision.t for r in results if r.burst]
    assert jingle_t < marked[0] < jingle_t + 0.4
    assert REASON_BURST in {r.decision.reason for r in results}
    unmarked = [replace(r, burst=False) for r in results]
    assert any(occupied for _, occupied in _replay(unmarked, DetectorOptions()))
