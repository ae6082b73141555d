"""Occupancy state machine: fast on, context-window minor motion, hold, duty cycle."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uspd.detector import (
    BRIEF_GAP_S,
    CLASS_CHANGE_FRAMES,
    HUMAN_ONSET_COUNT,
    MINOR_NON_HUMAN_CAP,
    NON_HUMAN_VETO,
    REASON_ROTATING,
    REASON_WARMING_UP,
    ROTATION_OVERRIDE,
    DetectorOptions,
    MotionClass,
    MotionClassTracker,
    OccupancyDetector,
)

HOP = 0.05
# What fans, curtains and airflow look like to the model: mostly "minor" or "non-human",
# never with the non-human probability under the veto.
UNCERTAIN_MINOR = np.array([0.15, 0.05, 0.6, 0.2])


def probs(kind: MotionClass, confidence: float = 0.9) -> np.ndarray:
    """A probability vector that favours one class."""
    p = np.full(4, (1.0 - confidence) / 3.0)
    p[kind] = confidence
    return p


def run(
    det: OccupancyDetector, t0: float, seconds: float, kind: MotionClass, conf: float = 0.9
) -> list[bool]:
    """Feed `seconds` of identical frames starting at t0; return occupancy per frame."""
    n = round(seconds / HOP)
    return [det.update(t0 + i * HOP, probs(kind, conf)).occupied for i in range(n)]


def test_major_motion_turns_on_within_three_frames() -> None:
    det = OccupancyDetector()
    states = run(det, 0.0, 1.0, MotionClass.HUMAN_MAJOR)
    assert states.index(True) <= 2  # ≤ 0.15 s at a 50 ms hop


def test_single_spike_does_not_turn_on() -> None:
    """One strong frame alone is noise (2-of-3 rule)."""
    det = OccupancyDetector()
    det.update(0.0, probs(MotionClass.HUMAN_MAJOR))
    assert not any(run(det, HOP, 2.0, MotionClass.NO_MOTION))


def feed(det: OccupancyDetector, t0: float, seconds: float, p: np.ndarray) -> list[bool]:
    """Feed `seconds` of one probability vector; occupancy per frame."""
    return [det.update(t0 + i * HOP, p).occupied for i in range(round(seconds / HOP))]


def test_uncertain_minor_motion_alone_never_turns_on() -> None:
    """Outside the context window uncertain minor motion is ignored: fans and curtains
    live there (their non-human probability stays above the veto)."""
    det = OccupancyDetector(DetectorOptions(sensitivity=1.0))
    assert not any(feed(det, 0.0, 60.0, UNCERTAIN_MINOR))
    assert not any(run(det, 60.0, 60.0, MotionClass.NON_HUMAN))


def test_sustained_confident_human_motion_turns_on() -> None:
    """A slow walker's frames split between major and minor: confident human motion
    with no sign of a fan, for 4 of 5 frames, turns the room on."""
    walker = np.array([0.03, 0.35, 0.6, 0.02])  # p_major alone stays under the major threshold
    det = OccupancyDetector()
    states = feed(det, 0.0, 1.0, walker)
    assert states.index(True) == HUMAN_ONSET_COUNT - 1
    assert det.update(1.0, walker).reason == "sustained human motion"
    # Three such frames are not enough, and a non-human probability at the veto
    # (something fan-like in the window) blocks it at any sensitivity.
    short = OccupancyDetector()
    feed(short, 0.0, 3 * HOP, walker)
    assert not any(feed(short, 3 * HOP, 2.0, probs(MotionClass.NO_MOTION)))
    fanlike = np.array([0.0, 0.35, 0.65 - NON_HUMAN_VETO, NON_HUMAN_VETO])
    assert not any(feed(OccupancyDetector(DetectorOptions(sensitivity=1.0)), 0.0, 30.0, fanlike))


def test_minor_motion_keeps_room_occupied_past_the_window() -> None:
    """Walk in, then type for 10 minutes: occupied all along, clears after the hold."""
    opts = DetectorOptions(hold_time_s=30.0, minor_window_s=60.0)
    det = OccupancyDetector(opts)
    run(det, 0.0, 2.0, MotionClass.HUMAN_MAJOR)
    typing = run(det, 2.0, 600.0, MotionClass.HUMAN_MINOR, conf=0.7)
    assert all(typing)
    after = run(det, 602.0, 40.0, MotionClass.NO_MOTION)
    cleared_at = after.index(False) * HOP
    assert opts.hold_time_s - HOP <= cleared_at <= opts.hold_time_s + HOP


def test_minor_motion_reoccupies_within_window_only() -> None:
    opts = DetectorOptions(hold_time_s=10.0, minor_window_s=60.0)
    det = OccupancyDetector(opts)
    run(det, 0.0, 1.0, MotionClass.HUMAN_MAJOR)
    run(det, 1.0, 20.0, MotionClass.NO_MOTION)  # cleared at ≈11 s
    assert not det.occupied
    assert any(feed(det, 21.0, 1.0, UNCERTAIN_MINOR))  # still inside the window
    det2 = OccupancyDetector(opts)
    run(det2, 0.0, 1.0, MotionClass.HUMAN_MAJOR)
    run(det2, 1.0, 80.0, MotionClass.NO_MOTION)
    assert not any(feed(det2, 81.0, 5.0, UNCERTAIN_MINOR))  # window over


def walked_in(opts: DetectorOptions) -> OccupancyDetector:
    """A detector that has seen one second of someone walking in (t 0–1 s): occupied."""
    det = OccupancyDetector(opts)
    run(det, 0.0, 1.0, MotionClass.HUMAN_MAJOR)
    return det


def feed_music(det: OccupancyDetector, t0: float, seconds: float, p: np.ndarray) -> list[bool]:
    """`feed` with every frame flagged as having music through the sensing speaker."""
    n = round(seconds / HOP)
    return [det.update(t0 + i * HOP, p, music=True).occupied for i in range(n)]


def test_music_residue_does_not_hold_an_occupied_room() -> None:
    """While music plays, frames the model splits between human and non-human (music
    residue) are not minor motion, so the room clears after the hold; the same frames
    without music, or a typist's clean frames in music, keep it occupied."""
    opts = DetectorOptions(hold_time_s=15.0)
    residue = np.array([0.0, 0.15, 0.45, 0.4])  # p(human) 0.6 ≥ the minor threshold
    in_music = feed_music(walked_in(opts), 1.0, 60.0, residue)
    assert in_music.index(False) * HOP == pytest.approx(opts.hold_time_s, abs=2 * HOP)
    assert all(feed(walked_in(opts), 1.0, 60.0, residue))
    typing = np.array([0.0, 0.2, 0.2 + 0.6 - NON_HUMAN_VETO / 2, NON_HUMAN_VETO / 2])
    assert all(feed_music(walked_in(opts), 1.0, 60.0, typing))


def test_in_music_major_frames_with_non_human_doubt_do_not_hold_but_still_turn_on() -> None:
    """Music's residue called major (p(non-human) above the veto) does not renew an
    occupied room's hold; the same frames still turn an empty room on, as a walker in
    music needs, and a clean major frame in music still holds."""
    opts = DetectorOptions(hold_time_s=15.0)
    residue = np.array([0.0, 0.65, 0.05, 0.3])
    held = feed_music(walked_in(opts), 1.0, 60.0, residue)
    assert held.index(False) * HOP == pytest.approx(15.0, abs=2 * HOP)
    clean = np.array([0.0, 0.85, 0.1, NON_HUMAN_VETO / 2])
    assert all(feed_music(walked_in(opts), 1.0, 60.0, clean))
    assert feed_music(OccupancyDetector(opts), 0.0, 1.0, residue).index(True) == 1


def test_frames_leaning_non_human_are_not_minor_motion() -> None:
    """What a canceller leaves of a running fan: p(human) above the minor threshold, but
    the model leans non-human; such frames do not hold an occupied room. Below
    MINOR_NON_HUMAN_CAP they still count (a person's minor motion beside a fan)."""
    opts = DetectorOptions(hold_time_s=15.0)
    leaning = np.array([0.0, 0.3, 0.7 - MINOR_NON_HUMAN_CAP, MINOR_NON_HUMAN_CAP])
    held = feed(walked_in(opts), 1.0, 60.0, leaning)
    assert held.index(False) * HOP == pytest.approx(15.0, abs=2 * HOP)
    beside = np.array([0.0, 0.3, 0.75 - MINOR_NON_HUMAN_CAP, MINOR_NON_HUMAN_CAP - 0.05])
    assert all(feed(walked_in(opts), 1.0, 60.0, beside))


def test_brief_gaps_in_the_evidence_do_not_restart_the_hold() -> None:
    """Loud music blanks a frame or three now and then (no evidence): an emptied room
    still clears after the hold. A gap of BRIEF_GAP_S or more restarts it."""
    opts = DetectorOptions(hold_time_s=15.0)

    def cleared_after(gap_frames: int) -> float:
        """Seconds from the last motion to clear, with a gap every 0.7 s."""
        det = walked_in(opts)
        period = round(0.7 / HOP)
        for i in range(round(60.0 / HOP)):
            t = 1.0 + i * HOP
            if i % (period + gap_frames) < gap_frames:
                det.hold(t, "no carrier received")
            elif not det.update(t, probs(MotionClass.NO_MOTION)).occupied:
                return t - 1.0
        return math.inf

    blip = round(BRIEF_GAP_S / HOP)
    assert cleared_after(blip - 1) == pytest.approx(opts.hold_time_s, abs=blip * HOP)
    assert cleared_after(blip) == math.inf  # each real gap restarts the hold


def test_sensitivity_moves_thresholds() -> None:
    """A 0.6-confidence major frame counts only at higher sensitivity."""
    low = OccupancyDetector(DetectorOptions(sensitivity=0.0))
    high = OccupancyDetector(DetectorOptions(sensitivity=1.0))
    assert not any(run(low, 0.0, 1.0, MotionClass.HUMAN_MAJOR, conf=0.6))
    assert any(run(high, 0.0, 1.0, MotionClass.HUMAN_MAJOR, conf=0.6))


def test_emission_duty_cycle_pauses_and_rechecks() -> None:
    opts = DetectorOptions(hold_time_s=20.0, emission_pause_s=120.0, confirm_before_pause_s=30.0)
    det = OccupancyDetector(opts)
    walking = [det.update(i * HOP, probs(MotionClass.HUMAN_MAJOR)) for i in range(int(31 / HOP))]
    pause = next(d for d in walking if "pausing emission" in d.reason)
    assert pause.t == pytest.approx(30.0, abs=2 * HOP)  # confirmed for 30 s → pause
    assert not walking[-1].emission_wanted
    quiet = [det.update(31 + i * HOP, probs(MotionClass.NO_MOTION)) for i in range(int(90 / HOP))]
    assert all(d.occupied and not d.emission_wanted for d in quiet)
    # Emission resumes at pause + 120 s; nobody there → clears hold_time_s later.
    after = [det.update(121 + i * HOP, probs(MotionClass.NO_MOTION)) for i in range(int(60 / HOP))]
    resumed = next(d.t for d in after if d.emission_wanted)
    cleared = next(d.t for d in after if not d.occupied)
    assert resumed == pytest.approx(pause.t + 120.0, abs=HOP)
    assert cleared - resumed == pytest.approx(opts.hold_time_s, abs=2 * HOP)


def test_no_pause_by_default() -> None:
    det = OccupancyDetector()
    assert all(
        det.update(i * HOP, probs(MotionClass.HUMAN_MAJOR)).emission_wanted for i in range(2000)
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"sensitivity": 1.5}, {"hold_time_s": 0.0}, {"minor_window_s": -1.0}],
)
def test_invalid_options_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DetectorOptions(**kwargs)


def test_decision_reports_level_and_reason() -> None:
    det = OccupancyDetector()
    d = det.update(0.0, probs(MotionClass.NO_MOTION))
    assert d.reason == "no motion" and d.motion_class == "none"
    for i in range(1, 10):
        d = det.update(i * HOP, probs(MotionClass.HUMAN_MAJOR))
    assert d.motion_level > 80 and d.reason == "major motion" and d.sensitive


def test_hold_keeps_state_and_restarts_hold_timer() -> None:
    """No evidence (emission off) never clears the room; the hold restarts afterwards."""
    opts = DetectorOptions(hold_time_s=10.0)
    det = OccupancyDetector(opts)
    run(det, 0.0, 1.0, MotionClass.HUMAN_MAJOR)
    held = [det.hold(1.0 + i * HOP, "emission off") for i in range(int(60 / HOP))]
    assert all(d.occupied and d.reason == "emission off" for d in held)
    after = run(det, 61.0, 15.0, MotionClass.NO_MOTION)
    assert after.index(False) * HOP == pytest.approx(opts.hold_time_s, abs=2 * HOP)
    empty = OccupancyDetector(opts)
    assert not empty.hold(0.0, "emission off").occupied


def test_warming_up_cannot_turn_on_but_keeps_occupied() -> None:
    """Start-up evidence (context filling, canceller learning) never declares presence;
    an occupied room stays occupied through a warm-up (carrier came back)."""
    det = OccupancyDetector()
    decisions = [
        det.update(i * HOP, probs(MotionClass.HUMAN_MAJOR), warming_up=True) for i in range(20)
    ]
    assert not any(d.occupied for d in decisions)
    assert decisions[-1].reason == REASON_WARMING_UP
    assert det.update(1.0, probs(MotionClass.HUMAN_MAJOR)).occupied is False  # 1 of 3
    assert det.update(1.05, probs(MotionClass.HUMAN_MAJOR)).occupied
    held = det.update(1.1, probs(MotionClass.HUMAN_MINOR), warming_up=True)
    assert held.occupied and held.reason != REASON_WARMING_UP


def test_quiet_time_after_an_interferer_switched_on() -> None:
    """A fan switched on (the adapter says so): for the quiet time its spin-up cannot
    make the empty room occupied, and the reason names it; then motion counts again.
    A room already occupied stays occupied through a quiet time."""
    det = OccupancyDetector()
    det.ignore_new_motion(3.0, "fan.bedroom switched on")
    det.ignore_new_motion(2.0, "shorter request")  # never shortens the quiet time
    quiet = [det.update(i * HOP, probs(MotionClass.HUMAN_MAJOR)) for i in range(60)]
    assert not any(d.occupied for d in quiet)
    assert quiet[-1].reason == "ignoring new motion: fan.bedroom switched on"
    assert quiet[-1].state_reason == quiet[-1].reason
    after = [det.update(3.0 + i * HOP, probs(MotionClass.HUMAN_MAJOR)) for i in range(3)]
    assert [d.occupied for d in after] == [False, True, True]  # 2 of 3 frames, as ever
    det.ignore_new_motion(10.0, "fan.bedroom switched on")
    assert all(run(det, 3.15, 2.0, MotionClass.HUMAN_MINOR))


def test_fan_like_motion_cannot_turn_an_empty_room_on() -> None:
    """Rotation-like frames (a fan spinning up) called major at the spin-ups' 0.6-0.8 do
    not make an empty room occupied, and the frame's reason says why while the room's
    state reason stays "no motion"; the same frames one-sided (a walker) do at once."""
    det = OccupancyDetector()
    spin_up = np.array([0.0, 0.7, 0.05, 0.25])
    fan = [det.update(i * HOP, spin_up, rotating=True) for i in range(40)]
    assert not any(d.occupied for d in fan)
    assert {d.reason for d in fan} == {REASON_ROTATING}
    assert {d.state_reason for d in fan} == {"no motion"}
    walker = [det.update(2.0 + i * HOP, spin_up).occupied for i in range(3)]
    assert walker == [False, True, True]


def test_fan_like_motion_counts_when_the_model_is_sure_or_the_room_occupied() -> None:
    """Someone walking in as a fan spins up, or typing at a desk (hands back and forth:
    mirror-symmetric too): once the model is all but sure of a person, the rotation
    test no longer holds it back. An occupied room is never held back by it."""
    det = OccupancyDetector()
    unsure = np.array([0.0, ROTATION_OVERRIDE - 0.05, 0.03, 0.02 + 0.05 - 0.03])
    sure = np.array([0.0, ROTATION_OVERRIDE - 0.05, 0.05 + 0.01, 0.0])
    assert not any(det.update(i * HOP, unsure, rotating=True).occupied for i in range(10))
    states = [det.update(0.5 + i * HOP, sure, rotating=True).occupied for i in range(3)]
    assert states == [False, True, True]
    assert all(det.update(0.65 + i * HOP, unsure, rotating=True).occupied for i in range(20))
    typist = OccupancyDetector()
    typing = np.array([0.0, 0.0, 0.99, 0.01])
    assert any(typist.update(i * HOP, typing, rotating=True).occupied for i in range(5))


def test_shown_class_stays_none_in_a_quiet_room_where_frames_split() -> None:
    """A quiet empty room: the models split between none and non_human frame by frame
    (argmax flipping several times a second). The shown class stays none, unchanged."""
    rng = np.random.default_rng(3)
    tracker = MotionClassTracker()
    shown = []
    for _ in range(1200):  # one minute
        p_non_human = rng.uniform(0.40, 0.60)
        shown.append(tracker.update([1.0 - p_non_human, 0.0, 0.0, p_non_human]))
    assert set(shown) == {"none"}


def test_shown_class_follows_a_lasting_change_after_the_change_frames() -> None:
    tracker = MotionClassTracker()
    fan = [0.05, 0.0, 0.05, 0.9]
    shown = [tracker.update(fan) for _ in range(40)]
    first = shown.index("non_human")
    assert first >= CLASS_CHANGE_FRAMES - 1 and set(shown[first:]) == {"non_human"}
    assert set(shown[:first]) == {"none"}
    walker = [0.0, 0.9, 0.05, 0.05]
    shown = [tracker.update(walker) for _ in range(60)]
    assert shown[-1] == "major" and shown.count("major") >= 30
    # A blip shorter than the change frames is not shown.
    shown = [tracker.update(fan) for _ in range(CLASS_CHANGE_FRAMES - 2)]
    shown += [tracker.update(walker) for _ in range(20)]
    assert set(shown) == {"major"}


def test_decision_motion_class_is_the_steady_one() -> None:
    det = OccupancyDetector()
    classes = [
        det.update(
            i * HOP, probs(MotionClass.NON_HUMAN if i % 2 else MotionClass.NO_MOTION, 0.55)
        ).motion_class
        for i in range(100)
    ]
    assert set(classes) == {"none"}


def test_holding_reason_does_not_change_from_frame_to_frame() -> None:
    """The entity carries the reason: a per-frame counter in it would rewrite the
    entity every second for as long as the room is occupied."""
    det = OccupancyDetector(DetectorOptions(hold_time_s=5.0))
    run(det, 0.0, 0.5, MotionClass.HUMAN_MAJOR)
    reasons = [det.update(0.5 + i * HOP, probs(MotionClass.NO_MOTION)).reason for i in range(80)]
    assert set(reasons[3:]) == {"holding after motion"}  # the first still count (2 of 3)


def test_state_reason_changes_only_with_the_state_or_an_empty_room_status() -> None:
    """What the occupancy entity shows: why it is on or off, steady in between."""
    det = OccupancyDetector(DetectorOptions(hold_time_s=2.0, minor_window_s=10.0))
    assert det.hold(0.0, "no carrier received").state_reason == "no carrier received"
    assert det.update(0.05, probs(MotionClass.NO_MOTION), warming_up=True).state_reason == (
        REASON_WARMING_UP
    )
    assert det.update(0.1, probs(MotionClass.NO_MOTION)).state_reason == "no motion"
    shown = set()
    for i in range(60):  # walk in, then sit and type: major, minor, holding frames
        kind = (
            MotionClass.HUMAN_MAJOR
            if i < 10
            else (MotionClass.HUMAN_MINOR, MotionClass.NO_MOTION)[i % 2]
        )
        d = det.update(0.15 + i * HOP, probs(kind))
        if d.occupied:
            shown.add(d.state_reason)
    assert d.occupied and shown == {"major motion"}
    decisions = [det.update(3.2 + i * HOP, probs(MotionClass.NO_MOTION)) for i in range(80)]
    cleared = [d for d in decisions if not d.occupied]
    assert cleared and {d.state_reason for d in cleared} == {"no motion for 2 s"}
    assert {d.reason for d in cleared[1:]} == {"no motion"}
