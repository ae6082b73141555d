"""`uspd calibrate`: sweep carriers on a simulated device and print the chosen carrier/level."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..cli import UserError


def register(sub: Any) -> None:
    """Add the `calibrate` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "calibrate", help="choose carrier and lowest emission level (simulated device)"
    )
    parser.add_argument("--scenario", default="empty", help="simulated scenario name")
    parser.add_argument("--seed", type=int, default=0, help="scenario/device seed")
    parser.add_argument("--rate", type=int, default=96000, help="sample rate (Hz)")
    parser.add_argument("--mics", type=int, default=4, help="microphones 1..8")
    parser.add_argument("--band", choices=("auto", "high", "low"), default="auto")
    parser.add_argument("--max-level", type=float, default=-6.0, help="maximum dBFS")
    parser.add_argument("--target-snr", type=float, default=None, help="Doppler-band SNR, dB")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Calibrate and report; exit 1 when the device has no ultrasonic response."""
    from ..dsp.calibration import TARGET_SNR_DB, CalibrationError, calibrate
    from ..sim.library import build_scenario
    from ..sim.source import SimulatedSource

    try:
        scenario = build_scenario(
            args.scenario, seed=args.seed, sample_rate=args.rate, n_mics=args.mics
        )
    except (KeyError, ValueError) as err:
        raise UserError(str(err).strip("'\"")) from err
    source = SimulatedSource(scenario.replace(duration_s=max(scenario.duration_s, 12.0)))
    try:
        result = calibrate(
            source,
            max_level_dbfs=args.max_level,
            band=args.band,
            target_snr_db=TARGET_SNR_DB if args.target_snr is None else args.target_snr,
        )
    except CalibrationError as err:
        print(f"calibration failed ({err.code}): {err}")
        return 1
    finally:
        source.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"carrier   {result.carrier_hz / 1000:.1f} kHz")
    print(f"level     {result.level_dbfs:.1f} dBFS (max {args.max_level:.0f})")
    print(f"SNR       {result.snr_db:.1f} dB (target {result.target_snr_db:.0f})")
    print(f"audio     {result.audio_seconds:.1f} s")
    for warning in result.warnings:
        print(f"warning   {warning}")
    return 0
