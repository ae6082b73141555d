"""`uspd probe`: list sound devices and measure a card's ultrasonic response.

Plays a sweep of tones (calibration's candidate carriers) one after the other and
reports, per frequency, the level the microphones receive, the path gain, the noise in
that carrier's Doppler band (from a quiet capture) and the resulting SNR — the same
measurements `uspd.dsp.calibration` makes, so what probe shows is what calibration sees.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..cli import UserError


def register(sub: Any) -> None:
    """Add the `probe` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "probe", help="list sound devices; measure the ultrasonic response of one"
    )
    parser.add_argument("--list", action="store_true", help="only list the devices")
    parser.add_argument("--input", help="input device (name or index)")
    parser.add_argument("--output", help="output device (name or index)")
    parser.add_argument("--rate", type=int, default=96000, help="sample rate (Hz)")
    parser.add_argument("--mics", type=int, default=None, help="input channels 1..8")
    parser.add_argument("--level", type=float, default=-20.0, help="tone level, dBFS")
    parser.add_argument("--band", choices=("auto", "high", "low"), default="auto")
    parser.add_argument(
        "--freqs", help="comma-separated tone frequencies in Hz (default: calibration's grid)"
    )
    parser.add_argument("--dwell", type=float, default=0.2, help="seconds measured per tone")
    parser.add_argument(
        "--settle", type=float, default=0.2, help="seconds skipped per tone (output latency)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


RETRIES = 2
"""Extra measurements of a tone that came out weak (below calibration's MIN_SNR_DB) or
broken (its level jumping by DROPOUT_DB within the dwell), each after twice the
previous settle time. Why: on a busy host a sound-server stall can hold the tone back
past the settle time, and a window of silence reads as a frequency the hardware cannot
play (seen as -80 dB gain at 40 kHz in a test run on a loaded machine, with an underrun
logged). A dead frequency costs ≈ 1.4 s more; the row says how many tries it took."""
DROPOUT_DB = 6.0
"""A level spread this large across the dwell's sub-blocks is a tone that started late
or dropped out, not the ≤ 1 dB wobble of a real path (calibration.UNSTABLE_DB)."""


def sweep(
    source: Any,
    level_dbfs: float,
    freqs: list[float],
    *,
    dwell_s: float = 0.2,
    settle_s: float = 0.2,
) -> list[dict[str, float]]:
    """Received level, gain, Doppler-band noise and SNR per tone (calibration's maths)."""
    from ..dsp import calibration as cal

    fs = source.sample_rate
    source.set_emission(None, cal.MIN_LEVEL_DBFS)
    quiet = cal._read(source, cal.QUIET_S)
    noise_model = cal._noise_model(quiet, fs)
    rows = []
    for freq in freqs:
        noise = cal._band_power_dbfs(noise_model, freq)
        settle, tries = settle_s, 0
        while True:
            tries += 1
            source.set_emission(freq, level_dbfs)
            block = cal._read(source, settle + dwell_s)[round(settle * fs) :]
            received, stability = cal._carrier_level(block, fs, freq)
            snr = cal._snr(received, noise)
            heard = snr >= cal.MIN_SNR_DB and stability < DROPOUT_DB
            if heard or tries > RETRIES:
                break
            settle *= 2.0
        rows.append(
            {
                "freq_hz": freq,
                "received_dbfs": round(received, 1),
                "gain_db": round(received - level_dbfs, 1),
                "noise_dbfs": round(noise, 1),
                "snr_db": round(snr, 1),
                "stability_db": round(stability, 2),
                "tries": tries,
            }
        )
    source.set_emission(None, cal.MIN_LEVEL_DBFS)
    return rows


def run(args: argparse.Namespace) -> int:
    """List devices, then sweep the chosen pair; exit 1 when nothing is heard."""
    try:
        from ..audio.soundcard import SoundCardSource, list_devices
    except (ImportError, OSError) as err:
        raise UserError(f"sound card support unavailable: {err} (install libportaudio2)") from err
    from ..audio.source import SourceError
    from ..dsp.calibration import MIN_SNR_DB, CalibrationError, candidate_carriers

    devices = list_devices(refresh=True)
    if not args.json:
        print("devices:")
        for d in devices:
            print(
                f"  [{d['index']}] {d['name']} ({d['hostapi']}): {d['max_input_channels']} in, "
                f"{d['max_output_channels']} out, default {d['default_samplerate']:.0f} Hz"
            )
    if args.list:
        if args.json:
            print(json.dumps({"devices": devices}, indent=2))
        return 0
    try:
        source = SoundCardSource(args.input, args.output, args.rate, args.mics)
    except SourceError as err:
        raise UserError(f"{err} [{err.code}]") from err
    try:
        if args.freqs:
            freqs = [float(f) for f in args.freqs.split(",") if f.strip()]
        else:
            freqs = candidate_carriers(source.sample_rate, args.band)
        rows = sweep(source, args.level, freqs, dwell_s=args.dwell, settle_s=args.settle)
    except ValueError as err:
        raise UserError(f"--freqs: {err}") from err
    except CalibrationError as err:
        raise UserError(f"{err} [{err.code}]") from err
    except SourceError as err:
        raise UserError(f"{err} [{err.code}]") from err
    finally:
        source.close()
    best = max(rows, key=lambda r: r["snr_db"])
    if args.json:
        print(json.dumps({"devices": devices, "response": rows, "best": best}, indent=2))
    else:
        print(f"response at {args.level:.0f} dBFS ({args.rate} Hz, {source.channels} mics):")
        print("   kHz  received dBFS  gain dB  noise dBFS  SNR dB")
        for r in rows:
            print(
                f"  {r['freq_hz'] / 1000:5.1f}  {r['received_dbfs']:13.1f}  {r['gain_db']:7.1f}"
                f"  {r['noise_dbfs']:10.1f}  {r['snr_db']:6.1f}"
            )
        print(f"best: {best['freq_hz'] / 1000:.1f} kHz, SNR {best['snr_db']:.0f} dB")
    return 0 if best["snr_db"] >= MIN_SNR_DB else 1
