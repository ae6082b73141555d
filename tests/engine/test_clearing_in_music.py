"""A room with music through the sensing speaker goes empty after its person leaves.

The pipeline end to end on one development-suite room (`uspd bench --dev`'s clearing
group): walk in, sit a minute, leave, with EDM playing throughout. Before the music
veto on minor motion (uspd.detector, NON_HUMAN_VETO), the music's residue kept this
room occupied until the scene ended.
"""

from __future__ import annotations

from dataclasses import replace

from uspd.bench import (
    CLEAR_WITHIN_S,
    HOLD_S,
    BenchScene,
    SceneOutcome,
    _available_t,
    _decide,
    _evidence,
    _occupancy,
    _ready_t,
    _replay,
    _score,
    calibrated,
    walk_sit_leave_with,
)
from uspd.detector import DetectorOptions
from uspd.pipeline import FrameResult
from uspd.scoring import load_default_scorer

SEED = 8_201_011
"""Development suite, clearing group, "leave_music" (EDM), scale 10's 12th room."""


def test_a_room_with_music_clears_after_its_person_leaves() -> None:
    scene = BenchScene(
        "clearing", "leave_music", calibrated(walk_sit_leave_with("leave_music", SEED))
    )
    chain, parts, truth, _ = _evidence(scene, None)
    results = _decide(scene, chain, parts, load_default_scorer())
    available = _available_t(chain, len(results))

    def outcome(decisions: list[tuple[float, bool]]) -> SceneOutcome:
        return _score(scene, decisions, truth, _ready_t(results), available_t=available)

    assert all(r.music_present for r in results if r.probabilities is not None and r.decision.t > 5)
    shipped = outcome(_occupancy(results))
    assert shipped.detected
    assert shipped.clear_delay_s is not None and shipped.clear_delay_s <= CLEAR_WITHIN_S
    # The room tells the change apart: with the frames' music flag dropped, the residue
    # holds it to the end of the scene (otherwise pick another room).
    unflagged: list[FrameResult] = [replace(r, music_present=False) for r in results]
    assert outcome(_replay(unflagged, DetectorOptions(hold_time_s=HOLD_S))).clear_delay_s is None
