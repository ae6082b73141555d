"""`uspd bench`: detection, false alarms, latency and compute on the fixed simulated suite."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

GROUP_NAMES = ("empty", "walk", "seated", "clearing")
"""uspd.bench.GROUPS, named here so the parser does not import the benchmark."""

if TYPE_CHECKING:
    from ..bench import ScorerFactory
    from ..model.classifier import Prefer


def register(sub: Any) -> None:
    """Add the `bench` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "bench", help="benchmark this pipeline against the conventional detector"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the number of scenes (1 ≈ 2 h of audio, minutes of CPU)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    parser.add_argument("--no-compute", action="store_true", help="skip component speeds")
    parser.add_argument(
        "--compute-only",
        action="store_true",
        help="only the component speeds on this machine (seconds, no suite)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUP_NAMES,
        help="run only this scene group (repeatable), e.g. many hours of empty rooms",
    )
    parser.add_argument(
        "--no-det", action="store_true", help="skip the DET sweep (operating points)"
    )
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument(
        "--dev",
        action="store_true",
        help="the development suite (other seeds, same recipe): choose models and "
        "settings on it, then run the benchmark once",
    )
    seeds.add_argument(
        "--select",
        action="store_true",
        help="the selection suite (a third set of seeds, same recipe): rank one "
        "training run's candidate models on it, then judge the chosen one with --dev",
    )
    parser.add_argument(
        "--fan-rooms",
        type=int,
        default=0,
        metavar="N",
        help="N more empty rooms with a floor fan and N more walk-ins beside a fan (with a "
        "seated person) than the scale gives: where alarms and misses concentrate",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="FILE",
        help="score with this int8 .tflite instead of the shipped model (repeat to "
        "average several, as an ensemble)",
    )
    parser.add_argument(
        "--runtime",
        choices=("auto", "litert", "numpy"),
        default="auto",
        help="run the model on this runtime (auto: LiteRT where importable, as Home "
        "Assistant does; numpy: the executor Home Assistant OS runs, which differs from "
        "LiteRT's default kernels by up to 1 LSB on some outputs)",
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="run scenes in N processes (one per core you can spare); the same figures",
    )
    parser.add_argument(
        "--no-cancel-rotor",
        dest="cancel_rotor",
        action="store_false",
        help="leave a fan rotor's echo in the features (the pipeline before 2026-12-07), "
        "to compare; the canceller is on in Home Assistant",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="keep each scene's calibration and DSP features (never audio) in DIR and "
        "reuse them: a rerun with another --model only decides (a directory you trust)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the suite and print the table (or JSON)."""
    from ..bench import (
        check_fan_rooms,
        compute_figures,
        compute_lines,
        run_suite,
        table,
    )
    from ..benchcache import SceneCache
    from ..cli import UserError
    from ..model import ModelError

    if args.compute_only:
        # How much of this machine one room takes, without the suite's minutes of CPU.
        speeds = compute_figures()
        if args.json:
            print(json.dumps(speeds, indent=2))
        else:
            for line in compute_lines(speeds):
                print(line)
        return 0

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    groups = frozenset(args.only) if args.only else None
    try:
        check_fan_rooms(args.scale, args.fan_rooms)
    except ValueError as err:
        raise UserError(str(err)) from err
    try:
        report = run_suite(
            args.scale,
            _scorers(args.model, args.runtime),
            progress=progress,
            det=not args.no_det,
            groups=groups,
            seed_base=_seed_base(args),
            cache=SceneCache(args.cache) if args.cache else None,
            fan_rooms=args.fan_rooms,
            jobs=args.jobs,
            cancel_rotor=args.cancel_rotor,
        )
    except ModelError as err:  # a --model file (or the install) the engine cannot run
        raise UserError(str(err)) from err
    if not args.no_compute:
        report.compute.update(compute_figures())
    if args.json:
        print(json.dumps(asdict(report), indent=2, default=str))
    else:
        for line in table(report):
            print(line)
    return 0


def _seed_base(args: argparse.Namespace) -> int:
    """The suite's seeds: development, selection or (by default) benchmark."""
    from ..bench import BENCH_SEED_BASE, DEV_SEED_BASE, SELECT_SEED_BASE

    if args.dev:
        return DEV_SEED_BASE
    return SELECT_SEED_BASE if args.select else BENCH_SEED_BASE


def _scorers(models: list[str] | None, runtime: Prefer = "auto") -> dict[str, ScorerFactory] | None:
    """The suite's scorers with `models` in place of the shipped model, on `runtime`
    (None: the defaults). run_suite makes each once before any scene, so a bad file or
    a runtime that is not installed fails first."""
    if not models and runtime == "auto":
        return None
    from ..scoring import ConventionalScorer, ModelScorer, load_default_scorer

    # functools.partial, not a closure: `--jobs` sends the factories to other processes.
    pipeline: ScorerFactory = (
        functools.partial(ModelScorer, models, prefer=runtime)
        if models
        else functools.partial(load_default_scorer, runtime)
    )
    return {"pipeline": pipeline, "conventional": ConventionalScorer}


def _jobs(text: str) -> int:
    """--jobs: a whole number of processes, at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of processes ≥ 1, not {text!r}")
    return value
