"""Occupancy from per-frame class probabilities: fast on, sticky while people sit, slow off.

Why this shape (after the Echo article, ../shared/reference/amazon-echo-uspd.md):
- *Major* motion (walking in) is unambiguous, so it sets "occupied" after two strong
  frames out of three (≈0.1–0.15 s at a 50 ms hop).
- *Minor* motion (typing, reaching) is weak and easily confused with airflow, so at
  the low confidence it usually has it only counts in a **context window**: while
  occupied, or within `minor_window_s` of the last major motion. There it is listened
  for at high sensitivity and keeps the room occupied — the context-dependent
  sensitivity Amazon describes. Outside the window it is ignored, which is what keeps
  a fan or curtain from turning the lights on.
- *Sustained, confident human* motion sets "occupied" anywhere: 4 of 5 frames whose
  human probability (major + minor) is above `human_threshold` while the non-human
  probability stays under NON_HUMAN_VETO. A walker who is slow or still at the edge
  of range gives frames the model calls confidently human but splits between "major"
  and "minor", so the major probability alone ramps slowly; fans and curtains keep
  the non-human probability above the veto. Measured on the development suite (the
  benchmark's recipe with other seeds; 3.9 h of empty rooms): walk-in latency p50/p95
  0.40/2.20 s → 0.30/1.35 s, with the same five false alarms. Requiring some major
  probability as well (≥ 0.2) takes the whole gain away: those early frames are minor.
- **Music through the sensing speaker**: its residue (what the music canceller leaves)
  is what the classifier learnt to call non-human, but on some frames it splits its
  probability between non-human and human. In the context window such frames counted
  as minor motion, and an occupied room held itself for as long as the music played.
  While the frame has music, minor motion counts only when the non-human probability
  is under NON_HUMAN_VETO, the veto sustained human motion already has. Measured on
  the development suite's clearing group (40 rooms of each kind: walk in, sit a
  minute, leave; hold 15 s): after their person left, music rooms' frames reached the
  minor threshold 9 % of the time, with p(non-human) 0.25–0.59 (10th–90th
  percentile); a seated person's in the same music 53 %, p(non-human) median 0.08.
  With the veto (and BRIEF_GAP_S) rooms went empty within hold + 5 s: music 27 → 40,
  fan and music 26 → 39 of 40, with the same alarms, walk-ins and seated continuity
  at the default hold elsewhere; the price is a seated person in music at a short
  hold (continuity at 15 s 0.94 → 0.84; at the default 60 s unchanged, 0.99)
  (docs/bench/HISTORY.md, "twentieth"). In an occupied room the veto holds for major
  motion in music too: the rooms still held were held by frames called major (p(major)
  0.57–0.66) at p(non-human) 0.14–0.35, where a person in the same music had p(non-
  human) median 0.04 (fan and music 39 → 40 of 40). An empty room's onsets are as
  before: a walk-in during music needs them.
- "Clear" needs `hold_time_s` without any counted motion (hysteresis by time). A gap in
  the evidence of BRIEF_GAP_S or longer (emission off, the carrier gone) restarts it
  when evidence returns, so a room is never cleared for lack of a signal; a shorter
  one does not (see BRIEF_GAP_S).
- Optional **emission duty cycle** (pets hear 32–40 kHz, physics.md): once presence has
  been confirmed for `confirm_before_pause_s`, emission pauses for `emission_pause_s`
  with the state held, then resumes to re-check; the hold timer restarts at resume, so a
  room left during the pause clears `hold_time_s` after emission comes back.
- **Warm-up**: right after the stream starts (or the carrier returns) the context
  window and the music canceller are still filling; the pipeline marks those frames
  `warming_up` and they cannot turn an empty room occupied (music at start-up otherwise
  reads as motion).
- **Quiet after a known interferer starts**: the adapter can say "a fan / HVAC / an
  appliance was just switched on" (Home Assistant knows when an automation turns a fan
  on). For `seconds` after that, motion cannot turn an empty room occupied, as during
  warm-up; an occupied room stays occupied. Why: every floor-fan false alarm in the
  benchmark and development suites came within 1.2 s of a fan switching on (the blades
  sweep through walking speeds while they spin up), at steady speed none
  (docs/bench/HISTORY.md). The price is latency for someone who enters at that moment.
- **Fan-like onsets**: motion whose new Doppler energy is mirror-symmetric about the
  carrier (`rotating`, uspd.rotation) cannot turn an empty room occupied either, unless
  the classifier is all but sure of a person (ROTATION_OVERRIDE). A fan spinning up
  sweeps its blades through walking speeds and is sometimes called major motion; a
  rotor's Doppler reaches equally far both ways, a walker's mostly one way. This is the
  quiet time above, without Home Assistant having to know about the fan. Measured on
  the development suite: 11 floor-fan alarms in 10.2 h of empty rooms plus 208 rooms
  with a fan switched on → 0, with the same 249 of 250 walk-ins within 4 m
  (docs/bench/HISTORY.md).
- **Right after an ultrasonic burst** (keys jingling, clatter: `burst`, uspd.burst) the
  classifier's 1.2 s context holds the burst's smear, and a curtain swaying in it was
  called major motion; for that long, motion cannot turn an empty room occupied either,
  unless the classifier is all but sure of a person (BURST_OVERRIDE).
- The **motion class** users see is a steady reading of the probabilities, not the
  frame's argmax (MotionClassTracker says why).
Every decision carries a reason string and levels for diagnostics.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt


class MotionClass(IntEnum):
    """Classifier output order (the model's contract, see model/MODEL_CARD.md)."""

    NO_MOTION = 0
    HUMAN_MAJOR = 1
    HUMAN_MINOR = 2
    NON_HUMAN = 3


CLASS_NAMES: tuple[str, ...] = ("none", "major", "minor", "non_human")
CLASS_PAUSED = "paused"
"""The motion class of a frame without evidence (emission off or paused, no carrier)."""
SHOWN_CLASSES: tuple[str, ...] = (*CLASS_NAMES, CLASS_PAUSED)
"""Every value Decision.motion_class takes (the Motion class sensor's options)."""
REASON_WARMING_UP = "warming up"
REASON_NO_MOTION = "no motion"
REASON_HOLDING = "holding after motion"
"""No seconds counter in it: the occupancy entity carries the reason, and a text that
changed every frame rewrote the entity every second for as long as a room was occupied."""
REASON_ROTATING = "ignoring fan-like motion"
"""An empty room's frame whose motion would have counted but was rotation-like."""
DEFAULT_QUIET_S = 3.0
"""Quiet time after a known interferer is switched on (`ignore_new_motion`). A floor fan
spins up with a ≈2 s time constant (uspd.sim.fans); in the benchmark and development
suites every floor-fan false alarm came 0.7–1.2 s after a switch-on, and replaying them
with a 3 s quiet time removed all of them (2 s left one; docs/bench/HISTORY.md)."""
ROTATION_OVERRIDE = 0.95
"""Rotation-like frames still count when p(human) = p(major) + p(minor) reaches this: the
classifier is all but sure of a person. Why: a walker who enters as a fan switches on (a
fan switched on by hand on the way in) is soon called major at 0.95 and more, and a
person typing at a desk when the sensor starts moves their hands back and forth, which
is mirror-symmetric too, but is called minor at 0.99. The fan spin-ups that raised
alarms peaked at 0.6–0.8. Measured on the development suite: without the override 248
of 250 walk-ins within 4 m and 8 of 15 seated typists (found before anyone walks in);
with it 249 and 10, as without the rotation test, and no fan alarm comes back (at 0.9:
one does) (docs/bench/HISTORY.md)."""
REASON_BURST = "ignoring motion right after an ultrasonic burst"
"""An empty room's frame whose motion would have counted but came while the classifier's
context held an emitted burst (uspd.burst)."""
BURST_OVERRIDE = 0.95
"""Frames after a burst still count when p(human) reaches this (as ROTATION_OVERRIDE):
someone who walks in jingling their keys is called major at 0.95 and more within a few
frames."""
NON_HUMAN_VETO = 0.1
"""Sustained human motion counts only in frames whose non-human probability is below this;
while music plays, so does minor motion."""
MINOR_NON_HUMAN_CAP = 0.5
"""Minor motion counts only in frames whose non-human probability is below this: frames
the model calls more likely non-human than anything else are not a person's minor
motion, whatever their human probability. Why: with the rotor canceller on, what it
leaves of a running fan reads p(human) ≈ 0.4, p(non-human) ≈ 0.5–0.6 now and then, and
in the context window that held 4 of 40 development rooms with a fan occupied after
their person left; with the cap 1 (without the canceller 1 → 0), with the same seated
continuity at the default hold (docs/bench/HISTORY.md, "twentieth")."""
BRIEF_GAP_S = 0.5
"""A gap in the evidence shorter than this neither restarts the hold time nor (in the
pipeline, CARRIER_BLIP_S) the warm-up. Why: loud music makes the speaker's own
distortion outweigh the carrier in its Doppler band for a frame or a few now and then
(features.MAX_BAND_DBC: such frames carry no evidence). When each of those frames
restarted the hold, one development room with EDM at 1.4 mm excursion, a fifth of its
frames without evidence, never cleared after its person left (docs/bench/HISTORY.md,
"twentieth"). A real loss (emission paused or off, the carrier gone) lasts longer and
still restarts it."""
HUMAN_ONSET_FRAMES = 5
HUMAN_ONSET_COUNT = 4
"""Sustained human motion: this many of the last HUMAN_ONSET_FRAMES frames."""
CLASS_SMOOTHING = 0.1
"""Weight of a new frame in the shown class's running mean (≈ 0.5 s at a 50 ms hop)."""
NON_HUMAN_MARGIN = 0.2
"""The shown class is non_human only when its smoothed probability leads none by this."""
CLASS_CHANGE_FRAMES = 10
"""A new shown class must lead for this many frames in a row (0.5 s)."""


class MotionClassTracker:
    """The motion class shown to users (Motion class sensor, diagnostics, `uspd analyze`).

    Why not each frame's most likely class: in a quiet empty room the models split
    between none and non_human (≈ 0.47 / 0.53), so the argmax flipped 140–240 times a
    minute, read "non_human" in an empty room most of the time, and (then an attribute
    of occupancy) rewrote that entity several times a second. A running mean, a
    margin for non_human over none, and a change only after CLASS_CHANGE_FRAMES give
    0.1–0.5 changes a minute and "none" all of the time in empty rooms, with fans still
    non_human 70–90 % of the time and walkers major (the ensemble; benchmark and
    development suites, docs/bench/HISTORY.md). Occupancy does not use it.
    """

    def __init__(self) -> None:
        """Nothing seen yet: shows none until another class has led long enough."""
        self._mean: list[float] | None = None
        self._shown: int = MotionClass.NO_MOTION
        self._candidate = -1
        self._run = 0

    @property
    def shown(self) -> str:
        """The class shown now."""
        return CLASS_NAMES[self._shown]

    def update(self, probabilities: list[float]) -> str:
        """Take one frame's class probabilities (model order); return the class to show."""
        if self._mean is None:
            self._mean = list(probabilities)
        else:
            a = CLASS_SMOOTHING
            self._mean = [
                (1.0 - a) * m + a * p for m, p in zip(self._mean, probabilities, strict=True)
            ]
        mean = self._mean
        best = max(range(len(mean)), key=mean.__getitem__)
        if (
            best == MotionClass.NON_HUMAN
            and mean[best] - mean[MotionClass.NO_MOTION] < NON_HUMAN_MARGIN
        ):
            best = MotionClass.NO_MOTION
        if best == self._shown:
            self._run = 0
        else:
            self._run = self._run + 1 if best == self._candidate else 1
            self._candidate = best
            if self._run >= CLASS_CHANGE_FRAMES:
                self._shown, self._run = best, 0
        return CLASS_NAMES[self._shown]


@dataclass(frozen=True, kw_only=True)
class DetectorOptions:
    """User-facing knobs (the HA options flow edits these) with sensible defaults."""

    sensitivity: float = 0.5
    """0..1; higher lowers the probability needed to count motion."""
    hold_time_s: float = 60.0
    """Seconds without counted motion before the room is declared empty."""
    minor_window_s: float = 120.0
    """Seconds after a major motion during which minor motion counts at high sensitivity."""
    emission_pause_s: float = 0.0
    """Pause emission this long once presence is confirmed (0 = never pause)."""
    confirm_before_pause_s: float = 30.0
    """Occupied this long (with recent motion) before a pause is allowed."""

    def __post_init__(self) -> None:
        """Reject values that would make the state machine meaningless."""
        if not 0.0 <= self.sensitivity <= 1.0:
            raise ValueError(f"sensitivity must be within 0..1, got {self.sensitivity}")
        for name in ("hold_time_s", "minor_window_s", "emission_pause_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.hold_time_s == 0:
            raise ValueError("hold_time_s must be positive")

    # The thresholds are set for an ensemble's *mean* probabilities, which are less
    # extreme than one model's (members disagree on the hard windows): the default
    # sensitivity 0.5 was chosen on the development suite (not the benchmark) for the
    # first ensemble and kept since. The shipped model is distilled from the ensemble
    # (it learns those mean probabilities); at 0.5 it finds as many development walk-ins
    # as the ensemble at 0.7, with half the alarms (docs/bench/HISTORY.md: "why an
    # ensemble", "one distilled model ships").

    @property
    def major_threshold(self) -> float:
        """Probability of major motion that counts: 0.77 (sens 0) … 0.37 (sens 1)."""
        return 0.77 - 0.4 * self.sensitivity

    @property
    def human_threshold(self) -> float:
        """Probability of human motion (major + minor) for sustained human motion:
        0.82 (sens 0) … 0.42 (sens 1)."""
        return 0.82 - 0.4 * self.sensitivity

    @property
    def minor_threshold(self) -> float:
        """Probability of (any) human motion that counts inside the context window:
        0.54 (sens 0) … 0.24 (sens 1)."""
        return 0.54 - 0.3 * self.sensitivity


_TIME_EPS = 1e-6
"""Seconds: frame stamps are sums of hops, so a gap of exactly BRIEF_GAP_S may come out a
rounding step short."""

_NO_NEWS = frozenset({REASON_NO_MOTION, REASON_ROTATING, REASON_BURST})
"""Frame reasons that leave an empty room's state reason as it is."""


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One detector output per feature frame."""

    t: float
    occupied: bool
    motion_level: float
    """0..100: smoothed probability of human motion, for a diagnostic sensor."""
    motion_class: str
    """Steady class (MotionClassTracker): none / major / minor / non_human; paused."""
    emission_wanted: bool
    sensitive: bool
    """True while minor motion counts (the context window)."""
    reason: str
    state_reason: str
    """Why the room is in its current state, steady between changes: the reason of the
    decision that last changed occupancy ("major motion", "no motion for 60 s"); while
    empty, also a status such as "warming up" or a missing carrier. `reason` changes
    from frame to frame while someone is there; this is what an entity can carry."""


class OccupancyDetector:
    """Stateful: feed it class probabilities in time order with `update`."""

    def __init__(self, options: DetectorOptions | None = None) -> None:
        """Start empty, emitting."""
        self.options = options or DetectorOptions()
        self._occupied = False
        self._recent_major: deque[bool] = deque(maxlen=3)
        self._recent_minor: deque[bool] = deque(maxlen=3)
        self._recent_human: deque[bool] = deque(maxlen=HUMAN_ONSET_FRAMES)
        self._last_motion_t = -np.inf
        self._gap_since = np.inf  # first frame of the current gap in the evidence
        self._sensitive_until = -np.inf
        self._occupied_since = np.inf
        self._pause_until = -np.inf
        self._level = 0.0
        self._class = MotionClassTracker()
        self._state_reason = ""
        self._reported_occupied = False
        self._quiet_until = -np.inf
        self._quiet_reason = ""

    @property
    def occupied(self) -> bool:
        """Current state."""
        return self._occupied

    def _emission_wanted(self, t: float) -> bool:
        return t >= self._pause_until

    def ignore_new_motion(self, until_t: float, reason: str) -> None:
        """Until `until_t`, motion cannot turn an empty room occupied (a known interferer
        such as a fan has just been switched on: `reason` says which). Overlapping
        requests extend the quiet time; they never shorten it."""
        if until_t > self._quiet_until:
            self._quiet_until = until_t
            self._quiet_reason = reason

    def hold(self, t: float, reason: str) -> Decision:
        """A frame without evidence (emission off, carrier missing): keep the state.

        When evidence returns after BRIEF_GAP_S or more, the hold timer restarts, as
        after a duty-cycle pause, so a room is never cleared for lack of a signal.
        """
        self._gap_since = min(self._gap_since, t)
        return self._decision(t, CLASS_PAUSED, reason)

    def _end_gap(self, t: float) -> None:
        """Evidence again at `t`: restart the hold after a real gap (BRIEF_GAP_S)."""
        if self._occupied and t - self._gap_since >= BRIEF_GAP_S - _TIME_EPS:
            self._last_motion_t = max(self._last_motion_t, t)
        self._gap_since = np.inf

    def update(
        self,
        t: float,
        probabilities: npt.NDArray[np.floating],
        *,
        warming_up: bool = False,
        rotating: bool = False,
        burst: bool = False,
        music: bool = False,
    ) -> Decision:
        """Advance to time `t` (seconds) with this frame's class probabilities.

        `warming_up`: the evidence is not yet trustworthy (stream start: context window
        and music canceller still filling); motion keeps an occupied room occupied but
        cannot turn an empty one occupied. `rotating`: the frame's new Doppler energy is
        rotation-like (uspd.rotation); it cannot turn an empty room occupied either,
        unless p(major) + p(minor) reaches ROTATION_OVERRIDE. `burst`: the classifier's
        context holds an emitted ultrasonic burst (uspd.burst); likewise, unless
        p(major) + p(minor) reaches BURST_OVERRIDE. `music`: the frame has music through
        the sensing speaker; minor motion then needs p(non-human) under NON_HUMAN_VETO,
        and so does major motion in an occupied room (without music minor motion needs
        it under MINOR_NON_HUMAN_CAP).
        """
        opts = self.options
        if not self._emission_wanted(t):
            # Emission paused: no evidence; hold the state, restart hold at resume.
            self._last_motion_t = self._pause_until
            return self._decision(t, CLASS_PAUSED, "emission paused after confirmed presence")

        if self._gap_since != np.inf:
            self._end_gap(t)
        p = np.asarray(probabilities, dtype=np.float64)
        values = p.tolist()  # Python floats: cheaper than indexing numpy scalars
        p_major = values[MotionClass.HUMAN_MAJOR]
        p_human = p_major + values[MotionClass.HUMAN_MINOR]
        self._level = 0.7 * self._level + 0.3 * p_human
        # Warm-up frames are no evidence of what moves either (start-up transients).
        frame_class = self._class.shown if warming_up else self._class.update(values)
        sensitive = self._occupied or t <= self._sensitive_until

        # Warm-up frames are no evidence for an empty room, not even towards 2 of 3;
        # nor are frames right after a known interferer was switched on, nor fan-like ones.
        quiet = t < self._quiet_until
        fan_like = rotating and p_human < ROTATION_OVERRIDE
        after_burst = burst and p_human < BURST_OVERRIDE
        trusted = self._occupied or not (warming_up or quiet or fan_like or after_burst)
        p_non_human = values[MotionClass.NON_HUMAN]
        clean = p_non_human < NON_HUMAN_VETO
        # While music plays, only clean frames hold an occupied room (its residue splits
        # between human and non-human); an empty room's onsets are as without music.
        self._recent_major.append(
            trusted
            and p_major >= opts.major_threshold
            and (clean or not (music and self._occupied))
        )
        self._recent_minor.append(
            trusted
            and sensitive
            and p_human >= opts.minor_threshold
            and (clean if music else p_non_human < MINOR_NON_HUMAN_CAP)
        )
        self._recent_human.append(trusted and p_human >= opts.human_threshold and clean)
        major = sum(self._recent_major) >= 2
        human = sum(self._recent_human) >= HUMAN_ONSET_COUNT
        minor = sum(self._recent_minor) >= 2

        reason: str
        if major or human:
            self._last_motion_t = t
            self._sensitive_until = t + opts.minor_window_s
            if not self._occupied:
                self._occupied_since = t
            self._occupied = True
            reason = "major motion" if major else "sustained human motion"
        elif minor:
            self._last_motion_t = t
            if self._occupied:
                self._sensitive_until = max(self._sensitive_until, t + opts.minor_window_s)
            else:
                self._occupied_since = t
            self._occupied = True
            reason = "minor motion in context window"
        elif self._occupied and t - self._last_motion_t >= opts.hold_time_s:
            self._occupied = False
            self._occupied_since = np.inf
            reason = self._cleared_reason
        elif self._occupied:
            reason = REASON_HOLDING
        elif warming_up:
            reason = REASON_WARMING_UP
        elif quiet:
            reason = f"ignoring new motion: {self._quiet_reason}"
        elif not (p_major >= opts.major_threshold or p_human >= opts.human_threshold):
            reason = REASON_NO_MOTION  # nothing that would have counted was ignored
        elif fan_like:
            reason = REASON_ROTATING
        elif after_burst:
            reason = REASON_BURST
        else:
            reason = REASON_NO_MOTION

        if (
            opts.emission_pause_s > 0
            and self._occupied
            and (major or human or minor)
            and t - self._occupied_since >= opts.confirm_before_pause_s
        ):
            self._pause_until = t + opts.emission_pause_s
            self._occupied_since = self._pause_until  # confirm again before the next pause
            reason = f"{reason}; presence confirmed, pausing emission"
        return self._decision(t, frame_class, reason)

    @property
    def _cleared_reason(self) -> str:
        return f"no motion for {self.options.hold_time_s:g} s"

    def _decision(self, t: float, frame_class: str, reason: str) -> Decision:
        if self._occupied != self._reported_occupied:
            self._state_reason = reason
            self._reported_occupied = self._occupied
        elif not self._occupied and not (
            # "no motion for 60 s" (why it cleared) stays until something else happens.
            reason in _NO_NEWS and self._state_reason == self._cleared_reason
        ):
            # A fan-like frame comes and goes within a spin-up: a status of the frame
            # (`reason`), not of the room, which stays "no motion".
            self._state_reason = REASON_NO_MOTION if reason in _NO_NEWS else reason
        return Decision(
            t=t,
            occupied=self._occupied,
            motion_level=round(100.0 * min(1.0, self._level), 1),
            motion_class=frame_class,
            emission_wanted=self._emission_wanted(t),
            sensitive=self._occupied or t <= self._sensitive_until,
            reason=reason,
            state_reason=self._state_reason,
        )
