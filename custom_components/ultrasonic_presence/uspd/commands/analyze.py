"""`uspd analyze FILE.wav`: the production pipeline, default options, on a recording.

The carrier is found in the recording itself (strongest stable tone above 17 kHz).
JSON contract (others rely on it): top-level `carrier_hz`, `sample_rate`, `channels`,
`events` = [{"t": s, "occupied": bool, "reason": str}] in time order, and `frames` =
{"t": [...], "motion_probability": [...], "occupied": [...], "motion_class": [...]}
(motion_class: the detector's steady class, as the Motion class sensor shows it).
Also `first_motion_t`: the first time human motion of any size shows by the
detector's own rule (2 of 3 frames above its minor-motion threshold) — reported apart
from occupancy, which by design ignores minor motion that no walk-in preceded (a short
clip of a hand waving shows motion without declaring the room occupied). A frame shows
human motion only if the model reads it as more likely human than non-human and it is not
fan-like (uspd.rotation): with the threshold alone, a fan-only recording read "human
motion from 0.35 s" (a floor fan, music) or "from 1.4 s" (a ceiling fan spinning up).
`first_motion_warming_up` says whether that onset lies in the pipeline's warm-up
(pipeline.WARMUP_S), when start-up transients and music can still look like motion; the
warm-up frames still count, since a clip may start with the motion (the real hand-gesture
recordings do).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..audio.source import SourceError
from ..cli import UserError

if TYPE_CHECKING:
    from ..model.classifier import Prefer
    from ..pipeline import FrameResult


def register(sub: Any) -> None:
    """Add the `analyze` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "analyze", help="run the presence pipeline on a WAV recording"
    )
    parser.add_argument("wav", type=Path, help="WAV file: 44.1–192 kHz, 1–8 channels, ≥ 1 s")
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    parser.add_argument(
        "--carrier", type=float, help="carrier frequency in Hz (default: detect it)"
    )
    parser.add_argument(
        "--runtime",
        choices=("auto", "litert", "numpy"),
        default="auto",
        help="inference runtime (auto: LiteRT when importable; numpy is what Home "
        "Assistant OS runs)",
    )
    parser.set_defaults(func=run)


def analyze(
    path: Path, carrier_hz: float | None = None, runtime: Prefer = "auto"
) -> dict[str, Any]:
    """Run the pipeline over the whole file; the report as a JSON-able dict.

    `runtime` picks the shipped models' runtime ('numpy' reproduces Home Assistant OS
    on a machine that has LiteRT); without shipped models the conventional detector runs.
    """
    from ..audio.wavfile import WavSource
    from ..detector import DetectorOptions
    from ..dsp.carrier import detect_carrier
    from ..pipeline import Pipeline
    from ..scoring import load_default_scorer

    source = WavSource(path)
    if carrier_hz is None:
        try:
            carrier_hz = detect_carrier(source.samples, source.sample_rate)
        except ValueError as err:
            raise SourceError(f"{path}: {err}", "no_ultrasonic_response") from err
    scorer = load_default_scorer(runtime)
    try:
        pipeline = Pipeline(source.sample_rate, source.channels, carrier_hz, scorer=scorer)
    except ValueError as err:
        raise SourceError(f"{path}: {err}", "sample_rate_too_low") from err
    frames: dict[str, list[Any]] = {
        "t": [],
        "motion_probability": [],
        "occupied": [],
        "motion_class": [],
        # uspd.rotation: how mirror-symmetric the new Doppler energy is; from
        # ROTATION_BALANCE on, motion in it cannot make an empty room occupied.
        "rotation_balance": [],
        # uspd.burst: the classifier's context holds an emitted ultrasonic burst (keys,
        # clatter); motion in it cannot make an empty room occupied.
        "burst": [],
        # Frames of the start-up warm-up: scored, but they cannot make a room occupied.
        "warming_up": [],
    }
    human_motion: list[bool] = []
    events: list[dict[str, Any]] = []
    threshold = DetectorOptions().minor_threshold
    block = round(0.05 * source.sample_rate)
    previous: bool | None = None
    while source.frames_left:
        for result in pipeline.process(source.read(block)):
            d = result.decision
            p = result.probabilities
            frames["t"].append(round(d.t, 3))
            frames["motion_probability"].append(None if p is None else round(float(p[1] + p[2]), 4))
            frames["occupied"].append(d.occupied)
            frames["motion_class"].append(d.motion_class)
            frames["rotation_balance"].append(round(result.rotation_balance, 3))
            frames["burst"].append(result.burst)
            frames["warming_up"].append(bool(result.warming_up))
            human_motion.append(shows_human_motion(result, threshold))
            if d.occupied != previous and (previous is not None or d.occupied):
                events.append({"t": round(d.t, 3), "occupied": d.occupied, "reason": d.reason})
            previous = d.occupied
    source.close()
    onset = next(
        (i + 2 for i in range(len(human_motion) - 2) if sum(human_motion[i : i + 3]) >= 2),
        None,
    )
    return {
        "file": str(path),
        "carrier_hz": round(float(carrier_hz), 1),
        "sample_rate": source.sample_rate,
        "channels": source.channels,
        "duration_s": round(len(source.samples) / source.sample_rate, 3),
        "runtime": pipeline.runtime,
        "events": events,
        "first_motion_t": None if onset is None else frames["t"][onset],
        "first_motion_warming_up": onset is not None and bool(frames["warming_up"][onset]),
        "frames": frames,
    }


def shows_human_motion(result: FrameResult, threshold: float) -> bool:
    """Does this frame show human motion of any size (for `first_motion_t`)?"""
    from ..detector import MotionClass

    p = result.probabilities
    if p is None or result.rotating:
        return False
    human = float(p[MotionClass.HUMAN_MAJOR] + p[MotionClass.HUMAN_MINOR])
    return human >= threshold and human >= float(p[MotionClass.NON_HUMAN])


def run(args: argparse.Namespace) -> int:
    """Print the report (JSON or a short human summary)."""
    from ..model import ModelError

    try:
        report = analyze(args.wav, args.carrier, args.runtime)
    except (SourceError, ModelError) as err:
        raise UserError(str(err)) from err
    if args.json:
        print(json.dumps(report))
        return 0
    print(
        f"{report['file']}: {report['sample_rate']} Hz, {report['channels']} ch, "
        f"{report['duration_s']} s, carrier {report['carrier_hz'] / 1000:.2f} kHz, "
        f"runtime {report['runtime']}"
    )
    if report["first_motion_t"] is None:
        print("  no human motion")
    elif report["first_motion_warming_up"]:
        print(
            f"  human motion from {report['first_motion_t']:.2f} s, in the start-up warm-up "
            "(start-up transients and music can look like motion then)"
        )
    else:
        print(f"  human motion from {report['first_motion_t']:.2f} s")
    if not report["events"]:
        print("  no occupancy detected")
    for event in report["events"]:
        state = "occupied" if event["occupied"] else "clear"
        print(f"  {event['t']:8.2f} s  {state:8s}  {event['reason']}")
    return 0
