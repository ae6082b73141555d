"""The production pipeline: audio blocks → features → motion probabilities → occupancy.

One class used by the Home Assistant runner, `uspd analyze` and `uspd bench`, so what
is benchmarked is what users run. Stages (see ARCHITECTURE.md): DspChain (front-end,
Doppler features, music canceller) → a motion scorer (the int8 TFLite classifier via
LiteRT or the numpy executor; the conventional Doppler-energy detector when no model
ships), and beside it the rotation test on the same frames (uspd.rotation: is the new
Doppler energy fan-like?) and the burst test (uspd.burst: does the classifier's context
hold emitted ultrasound, such as keys jingling?) → OccupancyDetector.

Frames without a usable carrier (emission switched off or paused, carrier lost) carry
no evidence: the detector holds its state, and a carrier missing while it should be
on for CARRIER_LOST_S raises SourceError('no_ultrasonic_response') so the sensor goes
unavailable instead of reporting a silently wrong "clear".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .audio.source import AudioBlock, SourceError
from .burst import BurstTracker
from .detector import BRIEF_GAP_S, Decision, OccupancyDetector
from .dsp.calibration import CalibrationResult, doppler_halfwidth_hz
from .dsp.chain import DspChain
from .dsp.features import (
    FEATURE_FLOOR_DB,
    FEATURE_SHAPE,
    FRAME_HOP_S,
    PLANE_MOTION,
    ContextWindow,
    FeatureFrames,
)
from .health import HealthMonitor, row_medians
from .rotation import NewEnergyBalance, fan_like

BasebandBlock = npt.NDArray[np.complex128]
"""Complex baseband (n, channels) at the FrontEnd's output rate, as a sensor node sends."""

CARRIER_LOST_S = 5.0
"""Seconds without a received carrier (while emitting) before the source is declared broken."""
WARMUP_S = 2.0
"""After the stream starts or the carrier returns, an empty room is not declared occupied
for this long: the 1.2 s context window must fill with settled frames (0.3 s settling)
and the music canceller make its first steering fits (0.5 s apart); before that, music
sidebands and start-up transients look like motion. Frames are still scored and reported."""
CARRIER_BLIP_S = BRIEF_GAP_S
"""A gap in the evidence shorter than this does not restart the warm-up (nor, in the
detector, the hold time). Why: loud music makes the speaker's own distortion outweigh
the carrier in its Doppler band for a frame or three now and then
(features.MAX_BAND_DBC: those frames carry no evidence), while the carrier, the context
window and the canceller are all fine. Restarting the 2 s warm-up at each such frame
kept one benchmark room (classical music at 1.4 mm excursion, a frame out every
≈ 0.7 s) warming up for the whole walk-in. A real loss (emission paused, the carrier
gone) lasts longer and still warms up again."""
FEATURE_HISTORY_S = 60.0
"""Feature frames kept for `capture_clip` (features only, never audio)."""


class MotionScorer(Protocol):
    """Context tensors + frame facts → class probabilities (detector.MotionClass order).

    A block's frames are scored in one call: a batch costs the numpy executor less per
    frame than one frame at a time (its per-call overhead is shared).
    """

    runtime: str

    def score(
        self,
        contexts: Sequence[npt.NDArray[np.float32]],
        frames: FeatureFrames,
        indices: Sequence[int],
    ) -> npt.NDArray[np.float32]:
        """Probabilities (k, classes) for frames `indices` of `frames` (in stream order),
        whose context tensors are `contexts`."""
        ...


@dataclass(frozen=True, kw_only=True)
class FrameResult:
    """Everything known about one decision."""

    decision: Decision
    probabilities: npt.NDArray[np.float32] | None
    carrier_dbfs: float
    snr_db: float
    music_present: bool
    health_problem: str | None
    warming_up: bool
    """Scored, but too soon after start for presence to be declared (WARMUP_S)."""
    rotation_balance: float = 0.0
    """How mirror-symmetric the frame's new Doppler energy is (uspd.rotation; 0 for a
    frame without evidence); from rotation.ROTATION_BALANCE on it is fan-like."""
    burst: bool = False
    """The classifier's context holds an emitted ultrasonic burst (uspd.burst)."""

    @property
    def rotating(self) -> bool:
        """The frame's new Doppler energy is fan-like (the detector's `rotating`)."""
        return fan_like(self.rotation_balance, music=self.music_present)


def default_scorer() -> MotionScorer:
    """The shipped int8 model when present, else the conventional detector."""
    from .scoring import load_default_scorer

    return load_default_scorer()


class Pipeline:
    """Streaming, stateful: feed blocks in order with `process`."""

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        carrier_hz: float,
        *,
        calibration: CalibrationResult | None = None,
        detector: OccupancyDetector | None = None,
        scorer: MotionScorer | None = None,
        t0: float = 0.0,
        chain: DspChain | None = None,
    ) -> None:
        """ValueError for rates/carriers the DSP cannot serve (message says why).

        With a calibration, SNR is reported against its measured noise (the same
        figure calibration showed) and a HealthMonitor watches for carrier drop or new
        interference; without one (recordings) SNR comes from the feature floor.
        `chain`: an existing DspChain for this rate/carrier/channels, for callers that
        feed `decide` with frames computed once (the benchmark scores one DSP run with
        several scorers).
        """
        if chain is not None:
            fe = chain.frontend
            if (fe.sample_rate, fe.carrier_hz, fe.channels) != (sample_rate, carrier_hz, channels):
                raise ValueError("the DspChain given was made for another stream")
        self.chain = chain or DspChain(sample_rate, carrier_hz, channels)
        self.calibration = calibration
        self.health = HealthMonitor(calibration) if calibration else None
        self.detector = detector or OccupancyDetector()
        self.scorer = scorer or default_scorer()
        self.context = ContextWindow()
        self.balance = NewEnergyBalance()
        self.bursts = BurstTracker()
        self.t0 = t0
        self._frames = 0
        self._no_carrier_frames = 0
        self._usable_frames = 0  # frames with evidence since the last real gap (warm-up)
        self._gap_frames = 0  # consecutive frames without evidence
        self._history: deque[npt.NDArray[np.float32]] = deque(
            maxlen=round(FEATURE_HISTORY_S / FRAME_HOP_S)
        )
        self._last: Decision | None = None
        # SNR without calibration: the Doppler band's width term, fixed per carrier.
        self._band_db = _band_db(carrier_hz)

    @staticmethod
    def default_runtime() -> str:
        """Runtime a new pipeline would use (for diagnostics before the first block)."""
        return default_scorer().runtime

    @property
    def runtime(self) -> str:
        """'litert', 'numpy' or 'conventional'."""
        return self.scorer.runtime

    @property
    def stream_time(self) -> float:
        """Seconds of stream decided so far (continues from t0 across rebuilds)."""
        return self.t0 + self._frames * self.chain.frame_hop_s

    @property
    def emission_wanted(self) -> bool:
        """The detector's duty cycle: False while emission should pause."""
        return self._last is None or self._last.emission_wanted

    def recent_features(self, seconds: float) -> npt.NDArray[np.float32]:
        """Last `seconds` of feature frames, shape (n, N_BINS, N_PLANES)."""
        n = min(len(self._history), round(seconds / FRAME_HOP_S))
        if n == 0:
            return np.zeros((0, *FEATURE_SHAPE[1:]), np.float32)
        return np.stack(list(self._history)[-n:])

    def process(
        self, block: AudioBlock | BasebandBlock, *, emission_on: bool = True
    ) -> list[FrameResult]:
        """Consume one audio block; one FrameResult per completed feature hop.

        A complex block is baseband from a sensor node (its FrontEnd ran there).
        """
        return self.decide(self.chain.process(block), emission_on=emission_on)

    def decide(self, frames: FeatureFrames, *, emission_on: bool = True) -> list[FrameResult]:
        """Score and decide feature frames from this pipeline's DspChain, in order."""
        results: list[FrameResult] = []
        if not frames.features.shape[0]:
            return results
        # Per-frame facts computed for all new frames at once (elementwise: the same
        # values frame by frame). Weakest mic's carrier level, dBFS:
        weakest = np.minimum.reduce(np.abs(frames.carrier), axis=1)
        carrier_levels = (20.0 * np.log10(np.maximum(weakest, 1e-12))).tolist()
        guard_levels = frames.guard_level_db.tolist()
        snrs = (
            _doppler_band_snrs(frames.features[:, :, PLANE_MOTION], self._band_db)
            if self.calibration is None
            else []
        )
        problems = (
            [None] * frames.features.shape[0]
            if self.health is None
            else [
                "; ".join(status.reasons) if status.needs_recalibration else None
                for status in self.health.update_each(frames)
            ]
        )
        # First the stream's bookkeeping frame by frame, then one scorer call for the
        # block's usable frames, then the detector frame by frame.
        stamps: list[float] = []
        contexts: list[npt.NDArray[np.float32]] = []
        usable: list[bool] = []
        warming: list[bool] = []
        lost: SourceError | None = None
        for i in range(frames.features.shape[0]):
            self._frames += 1
            self._history.append(frames.features[i])
            contexts.append(self.context.push(frames.features[i]))
            if emission_on and not frames.carrier_ok[i]:
                self._no_carrier_frames += 1
                if self._no_carrier_frames * FRAME_HOP_S >= CARRIER_LOST_S:
                    # Raised once the frames before it are decided, as frame by frame.
                    lost = SourceError(
                        f"no ultrasonic carrier received for {CARRIER_LOST_S:g} s: check "
                        "that the speaker plays and the microphone hears above 17 kHz",
                        "no_ultrasonic_response",
                    )
                    break
            else:
                self._no_carrier_frames = 0
            # Stamped with the end of the audio it has heard: the first window starts
            # WINDOW_S - hop before the stream (zero history), so frame n's window ends
            # at (n+1)·hop, the stream time once it is counted.
            stamps.append(self.stream_time)
            ok = emission_on and bool(frames.carrier_ok[i])
            if not ok:
                self._gap_frames += 1
            else:
                if self._gap_frames * FRAME_HOP_S >= CARRIER_BLIP_S:
                    self._usable_frames = 0  # a real gap: warm up again
                self._gap_frames = 0
                self._usable_frames += 1
            usable.append(ok)
            warming.append(ok and self._usable_frames * FRAME_HOP_S < WARMUP_S)
        scored = [i for i, ok in enumerate(usable) if ok]
        by_frame: dict[int, npt.NDArray[np.float32]] = {}
        if scored:
            scores = self.scorer.score([contexts[i] for i in scored], frames, scored)
            by_frame = dict(zip(scored, scores, strict=True))
        for i, t in enumerate(stamps):
            carrier_dbfs: float = carrier_levels[i]
            if self.calibration is not None:
                snr_db = carrier_dbfs - self.calibration.noise_dbfs
            else:
                snr_db = snrs[i]
            probabilities = by_frame.get(i)
            balance = 0.0
            burst = False
            music = bool(frames.music[i] or frames.sensitivity_reduced[i])
            if probabilities is not None:
                balance = self.balance.update(frames.features[i, :, PLANE_MOTION])
                burst = self.bursts.update(guard_levels[i])
                decision = self.detector.update(
                    t,
                    probabilities,
                    warming_up=warming[i],
                    rotating=fan_like(balance, music=music),
                    burst=burst,
                    music=music,
                )
            else:
                reason = "emission off" if not emission_on else "no carrier received"
                decision = self.detector.hold(t, reason)
            self._last = decision
            results.append(
                FrameResult(
                    decision=decision,
                    probabilities=probabilities,
                    carrier_dbfs=carrier_dbfs,
                    snr_db=snr_db if usable[i] else 0.0,
                    music_present=music,
                    health_problem=problems[i],
                    warming_up=warming[i],
                    rotation_balance=balance,
                    burst=burst,
                )
            )
        if lost is not None:
            raise lost
        return results


def _band_db(carrier_hz: float) -> float:
    """10·log10 of the Doppler band's width, Hz (turns a density into a band power)."""
    return 10.0 * float(np.log10(2.0 * doppler_halfwidth_hz(carrier_hz)))


def _doppler_band_snrs(motion: npt.NDArray[np.float32], band_db: float) -> list[float]:
    """Carrier-to-noise ratio over the Doppler band, dB, per row of motion planes.

    The motion plane is a density in dBc/Hz; its median over velocity bins is the
    noise floor even while someone moves (motion fills a minority of bins).
    """
    return [-(max(floor, FEATURE_FLOOR_DB) + band_db) for floor in row_medians(motion).tolist()]
