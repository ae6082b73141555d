"""The range band's front end (research/range_band/range_frontend.py, not shipped): the
band comes back out of audio in sweep_render's units, and the tone beside it does not."""

from __future__ import annotations

import importlib

import numpy as np

range_frontend = importlib.import_module("range_frontend")  # research/range_band (conftest)
sweep_render = importlib.import_module("sweep_render")

FS = 96000
CENTRE = 30000.0


def _tone(offset_hz: float, amplitude: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    return amplitude * np.cos(2 * np.pi * (CENTRE + offset_hz) * t)


def test_a_tone_in_the_band_keeps_its_amplitude() -> None:
    z = range_frontend.demodulate(_tone(1000.0, 0.01), FS, CENTRE)
    assert np.allclose(np.abs(z[2000:-2000]), 0.01, rtol=1e-3)


def test_the_sensing_tone_beside_the_band_is_stopped() -> None:
    """The band keeps 1.6 kHz clear of the tone: 5.6 kHz from the centre of an 8 kHz band."""
    z = range_frontend.demodulate(_tone(5600.0, 0.1), FS, CENTRE)
    assert np.max(np.abs(z[2000:-2000])) < 0.1 * 10 ** (-75 / 20)


def test_sweeps_put_into_audio_come_back_as_they_were() -> None:
    """sweep_render's baseband, up-converted into 96 kHz audio and taken out again."""
    sweeps = sweep_render.Sweeps(((0.010, 0.0), (0.005, 0.020)))
    rate = sweep_render.RATE
    t = np.arange(int(0.5 * rate)) / rate
    z = 0.01 * sweeps.envelope(t - 0.003)
    t_full = np.arange(int(0.5 * FS)) / FS
    up = 0.01 * sweeps.envelope(t_full - 0.003)
    audio = np.real(up * np.exp(2j * np.pi * CENTRE * t_full))
    back = range_frontend.demodulate(audio, FS, CENTRE)
    inner = slice(500, -500)
    error = np.linalg.norm(back[inner] - z[inner]) / np.linalg.norm(z[inner])
    assert error < 10 ** (-40 / 20)
