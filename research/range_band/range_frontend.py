"""The range band from audio: the tone's scene and the sweeps' echoes in one microphone
signal, demodulated and compressed as the engine's range DSP would — to see what the
audio path adds (the tone and its Doppler beside the band, the ADC) and what it costs.

Not the engine and not shipped (docs/bench/HISTORY.md, "the range band from audio").
`sweep_render.py` renders the band's echoes alone, as complex baseband; here they are
put into the simulator's own 96 kHz audio of the scene (tone, every echo of it, music,
noise, 24-bit ADC), and a front end takes the band back out: mixed down by its centre,
low-passed to the band and its Doppler (everything of the tone ≥ 1.6 kHz beyond the
band's edge is in the stop band) and decimated to 24 kHz.
"""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt
from scipy import signal
from sweep_render import RATE, Sweeps, profiles, render_band

from uspd.dsp.physics import speed_of_sound
from uspd.sim.scenario import Scenario
from uspd.sim.source import SimulatedSource

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

PASS_HZ = 4000.0 + 1000.0
"""Kept flat: half the 8 kHz band and the Doppler of a walker's limbs (≈ 1 kHz at 40 kHz)."""
STOP_HZ = 4000.0 + 1600.0
"""Stopped: where the tone may start (the band keeps 1.6 kHz clear of it)."""
STOP_DB = 80.0


def lowpass(sample_rate: int) -> FloatArray:
    """The front end's FIR (Kaiser window, linear phase)."""
    taps, beta = signal.kaiserord(STOP_DB, (STOP_HZ - PASS_HZ) / (sample_rate / 2))
    return np.asarray(
        signal.firwin(taps | 1, (PASS_HZ + STOP_HZ) / 2, window=("kaiser", beta), fs=sample_rate)
    )


def demodulate(audio: FloatArray, sample_rate: int, centre_hz: float) -> ComplexArray:
    """Real audio (n,) at `sample_rate` → complex baseband around `centre_hz` at RATE, in
    the convention of `sweep_render` (a tone of amplitude A is an envelope of A)."""
    factor = round(sample_rate / RATE)
    if not math.isclose(sample_rate / factor, RATE):
        raise ValueError(f"no whole decimation from {sample_rate} Hz to {RATE} Hz")
    h = lowpass(sample_rate)
    t = np.arange(audio.size) / sample_rate
    mixed = 2.0 * audio * np.exp(-2j * np.pi * centre_hz * t)
    delay = (h.size - 1) // 2
    filtered = signal.fftconvolve(mixed, h)[delay : delay + audio.size]
    return np.asarray(filtered[::factor])


def scene_audio(
    scenario: Scenario, sweeps: Sweeps, span: tuple[float, float], *, share_db: float = -3.0
) -> tuple[FloatArray, float, float]:
    """(mic 0's audio over `span` with the band's echoes in it, band centre, the band's
    noise variance per baseband sample)."""
    source = SimulatedSource(scenario)
    source.set_emission(scenario.carrier_hz, scenario.level_dbfs)
    fs = scenario.sample_rate
    audio = source.read(round(span[1] * fs))[round(span[0] * fs) :, 0].astype(np.float64)
    source.close()
    z, centre, variance = render_band(scenario, sweeps, share_db=share_db, span=span, noise=False)
    up = signal.resample_poly(z, round(fs / RATE), 1)[: audio.size]
    t = span[0] + np.arange(up.size) / fs
    band = np.real(up * np.exp(2j * np.pi * centre * t))
    audio[: band.size] += band
    return audio, centre, variance


def range_maps(
    audio: FloatArray,
    scenario: Scenario,
    sweeps: Sweeps,
    *,
    centre: float,
    variance: float,
    t0: float,
) -> tuple[list[FloatArray], float]:
    """(the motion map of each sweep kind, seconds of CPU per second of audio)."""
    from translation import motion_map

    start = time.process_time()
    z = demodulate(audio, scenario.sample_rate, centre)
    c = speed_of_sound(scenario.room.temperature_c)
    maps = [
        motion_map(profiles(z, sweeps, j, variance, c=c, t0=t0)[1], sweeps.period_s)
        for j in range(len(sweeps.sweeps))
    ]
    return maps, (time.process_time() - start) / (audio.size / scenario.sample_rate)
