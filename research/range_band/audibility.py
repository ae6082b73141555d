"""What a weakly nonlinear drive chain makes audible of a sweep band played beside the tone.

Not the engine and not shipped: a check to make before anyone builds a second emission
(docs/bench/HISTORY.md, "can a sweep beside the tone stay inaudible?").

Why it matters. One tone through any memoryless nonlinearity y = x + a2·x² + a3·x³ gives
only its harmonics (2f, 3f: ultrasonic) — the shipped emission is clean by construction.
Two components are not: a second-order term makes their difference |f_tone − f_sweep|,
and on 96 kHz hardware (tone ≥ 32 kHz, sweep band 24–43.5 kHz) that lies in the audible
range for every placement; a third-order term makes 2·f_sweep − f_tone, often audible
too. Gating the sweep (on for 10 + 5 ms of each 40 ms) turns its power into a 25 Hz
pulse train, which the second-order term demodulates (a buzz at 25 Hz and harmonics)
and the third-order term imprints on the tone (cross-modulation sidebands inside the
tone's Doppler band). The same physics is why ultrasonic "inaudible command" work
drives its two ultrasonic components from separate speakers, so that they mix only in
the victim's microphone (Roy et al., "Inaudible Voice Commands: The Long-Range Attack
and Defense", NSDI 2018; US patent 10,672,416).

Levels. Drive amplitudes are in full-scale units (a full-scale sine is 0 dBFS). The
simulator's device model says a drive at 0 dBFS arrives at −30 dBFS one metre away
(`DeviceSpec.echo_ref_db`) before the speaker's response, and its mics' self-noise is
−135 dBFS/Hz; a digital MEMS mic of −26 dBFS at 94 dB SPL (e.g. Knowles SPH0641LU4H-1)
has just that noise (28 dB SPL over 20 kHz). So 0 dBFS at the mic is 120 dB SPL and a
tone played at L dBFS is 90 + L + G(f) dB SPL at 1 m, G the speaker's gain (dB).

The chain's nonlinearity is stated as its second- (third-) harmonic distortion HD2
(HD3) for the tone alone at its calibrated level: a2 = 2·HD2/A, a3 = 4·HD3/A² for a tone
of amplitude A. Products radiate with the speaker's gain at their own frequency (the
simulator's response, flat below its ultrasonic corner) and a second-order high-pass at
the driver's resonance (RESONANCE_HZ, an assumption for a small driver). Audible band
levels are compared with the threshold of hearing of young adults in a free field
(ISO 226:2003 Tf to 12.5 kHz, ISO 389-7:2019 at 16 kHz) by one-third-octave band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from range_profiles import candidate_bands, sweep_band, weakest_response
from sweep_render import Sweeps

FloatArray = npt.NDArray[np.float64]

FS = 384_000
"""Rate of the synthesis: third-order products of a 48 kHz band (≤ 144 kHz) do not alias."""
SPL_AT_1M_FOR_0DBFS = 90.0
"""dB SPL one metre from the speaker for a 0 dBFS drive at 0 dB speaker gain (see module
docstring: −30 dBFS at 1 m and −26 dBFS at 94 dB SPL)."""
RESONANCE_HZ = 200.0
"""Small drivers radiate little below their resonance (≈ 100–400 Hz for 2–3 inch drivers);
modelled as a second-order high-pass. An assumption, stated where the figures are."""

THIRD_OCTAVES_HZ = (
    25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0,
    500.0, 630.0, 800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0, 3150.0, 4000.0, 5000.0,
    6300.0, 8000.0, 10000.0, 12500.0, 16000.0,
)  # fmt: skip
"""Nominal one-third-octave centres (IEC 61260-1) of the audible bands examined."""
THRESHOLD_DB_SPL = (
    68.7, 59.5, 51.1, 44.0, 37.5, 31.5, 26.5, 22.1, 17.9, 14.4, 11.4, 8.6, 6.2, 4.4, 3.0,
    2.2, 2.4, 3.5, 1.7, -1.3, -4.2, -6.0, -5.4, -1.5, 6.0, 12.6, 13.9, 12.3, 40.2,
)  # fmt: skip
"""Threshold of hearing, free field, frontal, 18–25-year-olds: ISO 226:2003 Table 1 (Tf)
for 25 Hz–12.5 kHz, ISO 389-7:2019 for 16 kHz."""
LIMIT_20K_DB_SPL = 75.0
"""Consensus exposure limit in the 20 kHz third-octave band (Howard, Hansen & Zander 2004;
physics.md): the band above 17.8 kHz is judged by it, not by audibility."""


WAVEFORMS = {
    "10 ms + 5 ms every 40 ms": Sweeps(((0.010, 0.0), (0.005, 0.020))),
    "10 ms every 40 ms": Sweeps(((0.010, 0.0),)),
    "40 ms back to back": Sweeps(((0.040, 0.0),), ramp_s=0.0),
}
"""The range band's candidates (research/range_band/measure.py) and a constant-envelope
one: back to back, phase-continuous, never gated."""
GATED = WAVEFORMS["10 ms + 5 ms every 40 ms"]


def sweep_signal(sweeps: Sweeps, centre_hz: float, amplitude: float, t: FloatArray) -> FloatArray:
    """The sweep band's drive signal at times `t` (s): the emission `sweep_render` renders."""
    return np.asarray(amplitude * np.real(sweeps.envelope(t) * np.exp(2j * np.pi * centre_hz * t)))


def single_signal(
    sweeps: Sweeps, tone_hz: float, centre_hz: float, amplitude: float, t: FloatArray
) -> FloatArray:
    """Tone and sweeps as one constant-envelope FM signal: the frequency dwells on the tone
    and leaves it for each sweep, gliding there and back over `ramp_s` (raised cosine)
    within the dwell. x² and x³ of a constant envelope hold only DC, 2f and 3f: nothing
    audible from a memoryless chain, whatever the sweep."""
    f = np.full(t.shape, tone_hz)
    phase_t = np.mod(t, sweeps.period_s)
    lo, hi = centre_hz - sweeps.bandwidth_hz / 2, centre_hz + sweeps.bandwidth_hz / 2
    glide = max(sweeps.ramp_s, 1e-9)
    for length, offset in sweeps.sweeps:
        u = phase_t - offset
        on = (u >= 0) & (u < length)
        f = np.where(on, lo + (hi - lo) * u / length, f)
        before = (u >= -glide) & (u < 0)
        w = 0.5 - 0.5 * np.cos(np.pi * (u + glide) / glide)
        f = np.where(before, tone_hz + (lo - tone_hz) * w, f)
        v = u - length
        after = (v >= 0) & (v < glide)
        w = 0.5 + 0.5 * np.cos(np.pi * v / glide)
        f = np.where(after, tone_hz + (hi - tone_hz) * w, f)
    phase = 2 * np.pi * np.cumsum(f) / FS
    return np.asarray(amplitude * np.cos(phase))


def chain(x: FloatArray, tone_amplitude: float, hd2_db: float, hd3_db: float) -> FloatArray:
    """The drive chain's output less its input: what the nonlinearity adds (a2·x² + a3·x³),
    with a2, a3 set by the tone alone's HD2 and HD3 at `tone_amplitude`."""
    a2 = 2 * 10 ** (hd2_db / 20) / tone_amplitude
    a3 = 4 * 10 ** (hd3_db / 20) / tone_amplitude**2
    return np.asarray(a2 * x**2 + a3 * x**3)


def band_levels(y: FloatArray, centres: tuple[float, ...] = THIRD_OCTAVES_HZ) -> FloatArray:
    """Mean-square level (dB re a full-scale sine's 0.5) of `y` in one-third-octave bands."""
    spectrum = np.abs(np.fft.rfft(y)) ** 2 * 2 / y.size**2  # a sine of amplitude a: a²/2
    f = np.fft.rfftfreq(y.size, 1 / FS)
    out = []
    for centre in centres:
        sel = (f >= centre * 2 ** (-1 / 6)) & (f < centre * 2 ** (1 / 6))
        out.append(10 * math.log10(max(float(spectrum[sel].sum()) / 0.5, 1e-30)))
    return np.asarray(out)


def radiated_gain_db(speaker_db: FloatArray, f: FloatArray) -> FloatArray:
    """The speaker's gain at audible frequencies with its low-frequency roll-off."""
    x = np.asarray(f) / RESONANCE_HZ
    highpass = 10 * np.log10(x**4 / ((1 - x**2) ** 2 + 2 * x**2))  # Butterworth, Q = 0.71
    return np.asarray(speaker_db + highpass)


@dataclass(frozen=True)
class Audibility:
    """Products of one device and waveform, at the distortion given."""

    spl_db: FloatArray  # per THIRD_OCTAVES_HZ band, at 1 m
    margin_db: float  # max over the bands of SPL − threshold (> 0: audible to young adults)
    worst_hz: float  # the band where it is largest
    band_20k_db: float  # SPL in the 20 kHz band (judged by LIMIT_20K_DB_SPL)
    tone_sidebands_db: float  # added power in the tone's ±1.5 kHz band re the carrier
    splatter_db: float  # the sweep's own (linear) power in that band re the carrier


def audibility(
    waveform: Sweeps,
    *,
    tone_hz: float,
    sweep_centre_hz: float,
    tone_level_dbfs: float,
    sweep_share_db: float,
    audible_gain_db: FloatArray,
    hd2_db: float,
    hd3_db: float,
    seconds: float = 0.4,
    single: bool = False,
) -> Audibility:
    """Audible products and tone-band contamination of the tone plus `waveform`.

    `audible_gain_db`: the speaker's gain (dB) at each THIRD_OCTAVES_HZ centre and at
    20 kHz (last), before the resonance roll-off. The drive: the tone at
    `tone_level_dbfs`, the sweep `sweep_share_db` below it; with `single`, one
    constant-envelope signal at the tone's level that leaves the tone for each sweep
    (`single_signal`; the tone-band figures then count the tone's own gating).
    """
    t = np.arange(int(seconds * FS)) / FS
    amp = 10 ** (tone_level_dbfs / 20)
    if single:
        sweep = single_signal(waveform, tone_hz, sweep_centre_hz, amp, t)
        drive = sweep
    else:
        tone = amp * np.cos(2 * np.pi * tone_hz * t)
        sweep = sweep_signal(waveform, sweep_centre_hz, amp * 10 ** (sweep_share_db / 20), t)
        drive = tone + sweep
    added = chain(drive, amp, hd2_db, hd3_db)
    centres = (*THIRD_OCTAVES_HZ, 20000.0)
    levels = band_levels(added, centres)  # dB re full scale, at the drive
    gain = radiated_gain_db(audible_gain_db, np.asarray(centres))
    spl = SPL_AT_1M_FOR_0DBFS + levels + gain
    margin = spl[:-1] - np.asarray(THRESHOLD_DB_SPL)
    worst = int(np.argmax(margin))
    # The tone's analysis band (uspd.dsp.features: ±1.5 kHz) less the carrier's own bin.
    spectrum = np.abs(np.fft.rfft(added)) ** 2
    lin = np.abs(np.fft.rfft(sweep)) ** 2
    f = np.fft.rfftfreq(t.size, 1 / FS)
    near = (np.abs(f - tone_hz) <= 1500) & (np.abs(f - tone_hz) > 3 / seconds)
    carrier = (amp * t.size / 2) ** 2
    return Audibility(
        spl_db=spl[:-1],
        margin_db=float(margin[worst]),
        worst_hz=THIRD_OCTAVES_HZ[worst],
        band_20k_db=float(spl[-1]),
        tone_sidebands_db=10 * math.log10(max(float(spectrum[near].sum()), 1e-300) / carrier),
        splatter_db=10 * math.log10(max(float(lin[near].sum()), 1e-300) / carrier),
    )


def quietest_band(
    tone_hz: float,
    tone_level_dbfs: float,
    audible_gain_db: FloatArray,
    hd_db: float,
    order: int = 2,
) -> tuple[float, float]:
    """(centre, margin) of the 8 kHz band beside the tone whose second- (or third-) order
    products are least audible for the gated two-length sweeps, among the bands
    `sweep_band` chooses from, at HD2 (HD3) = hd_db."""
    bands = candidate_bands(tone_hz, 8000.0)
    if not bands:
        raise ValueError(f"no 8 kHz band beside a {tone_hz} Hz tone")
    margins = [
        audibility(
            GATED,
            tone_hz=tone_hz,
            sweep_centre_hz=centre,
            tone_level_dbfs=tone_level_dbfs,
            sweep_share_db=-3.0,
            audible_gain_db=audible_gain_db,
            hd2_db=hd_db if order == 2 else -300.0,
            hd3_db=hd_db if order == 3 else -300.0,
            seconds=0.2,
        ).margin_db
        for centre in bands
    ]
    i = int(np.argmin(margins))
    return bands[i], margins[i]


def device_row(
    kind: str, seed: int, cache_dir: str | None, hd_db: float = -60.0
) -> dict[str, object]:
    """One development-suite room's device, calibrated as the bench calibrates it: the
    products of every WAVEFORMS entry, second and third order apart, at HD2 (HD3) = hd_db."""
    from measure import dev_room

    from uspd.bench import _calibrated
    from uspd.benchcache import SceneCache
    from uspd.sim.render import Renderer

    scenario = _calibrated(dev_room(kind, seed), SceneCache(cache_dir) if cache_dir else None)
    renderer = Renderer(scenario)
    centre, weakest = sweep_band(scenario, renderer, 8000.0)
    speaker = renderer.device.speaker_response
    centres = np.asarray((*THIRD_OCTAVES_HZ, 20000.0))
    audible = 20 * np.log10(np.abs(speaker(centres)))
    tone_gain = 20 * math.log10(abs(complex(speaker(np.array([scenario.carrier_hz]))[0])))
    quietest = quietest_band(scenario.carrier_hz, scenario.level_dbfs, audible, hd_db)
    quietest3 = quietest_band(scenario.carrier_hz, scenario.level_dbfs, audible, hd_db, 3)
    row: dict[str, object] = {
        "seed": seed,
        "tone_hz": scenario.carrier_hz,
        "sweep_centre_hz": centre,
        "tone_level_dbfs": scenario.level_dbfs,
        "tone_spl_db": SPL_AT_1M_FOR_0DBFS + scenario.level_dbfs + tone_gain,
        "quietest_centre_hz": quietest[0],
        "quietest_margin_db": round(quietest[1], 1),
        "quietest_response_loss_db": round(
            20 * math.log10(weakest / weakest_response(renderer, quietest[0], 8000.0)), 1
        ),
        "quietest3_centre_hz": quietest3[0],
        "quietest3_margin_db": round(quietest3[1], 1),
        "quietest3_response_loss_db": round(
            20 * math.log10(weakest / weakest_response(renderer, quietest3[0], 8000.0)),
            1,
        ),
    }
    runs = [(name, sweeps, False) for name, sweeps in WAVEFORMS.items()]
    runs.append(("one signal, 10 ms + 5 ms every 40 ms", GATED, True))
    for name, waveform, single in runs:
        for order, (hd2, hd3) in (("2", (hd_db, -300.0)), ("3", (-300.0, hd_db))):
            result = audibility(
                waveform,
                tone_hz=scenario.carrier_hz,
                sweep_centre_hz=centre,
                tone_level_dbfs=scenario.level_dbfs,
                sweep_share_db=-3.0,
                audible_gain_db=audible,
                hd2_db=hd2,
                hd3_db=hd3,
                single=single,
            )
            row[f"{name}|{order}"] = {
                "margin_db": round(result.margin_db, 1),
                "worst_hz": result.worst_hz,
                "band_20k_db": round(result.band_20k_db, 1),
                "tone_sidebands_db": round(result.tone_sidebands_db, 1),
                "splatter_db": round(result.splatter_db, 1),
            }
    return row


def main() -> None:
    """Rows for a seed range of development rooms, as JSON on stdout."""
    import json

    from measure import room_range_parser

    parser = room_range_parser(__doc__.splitlines()[0])
    parser.add_argument("--hd", type=float, default=-60.0, help="HD2 and HD3 (dB) examined")
    args = parser.parse_args()
    cache = str(args.cache) if args.cache else None
    rows = [device_row(args.kind, s, cache, args.hd) for s in range(args.first, args.stop)]
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
