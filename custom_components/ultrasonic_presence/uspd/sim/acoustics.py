"""Propagation physics: speed of sound, ISO 9613-1 air absorption, shoebox image sources.

Numbers and sources: /work/shared/notes/physics.md ("Propagation"). Air absorption is
the ISO 9613-1:1993 formula (not a table) because it moves the usable range by tens of
dB between 20 and 40 kHz and with humidity; c = 331.3 + 0.606·T.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_T0 = 293.15  # K, ISO 9613-1 reference temperature
_T01 = 273.16  # K, triple point of water
_PR = 101.325  # kPa, reference pressure


def absorption_db_per_m(
    freq_hz: float | FloatArray,
    temperature_c: float = 20.0,
    humidity_pct: float = 50.0,
    pressure_kpa: float = _PR,
) -> float | FloatArray:
    """Atmospheric absorption coefficient (dB/m) per ISO 9613-1 eqs. (3)-(5).

    Gives 1.32 dB/m at 40 kHz, 20 °C, 50 % RH (physics.md): 13 dB over a 10 m round trip.
    """
    t = temperature_c + 273.15
    pa = pressure_kpa / _PR
    c_sat = -6.8346 * (_T01 / t) ** 1.261 + 4.6151
    h = humidity_pct * 10.0**c_sat / pa  # molar concentration of water vapour, %
    fro = pa * (24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h))
    frn = (
        pa * (t / _T0) ** -0.5 * (9.0 + 280.0 * h * math.exp(-4.170 * ((t / _T0) ** (-1 / 3) - 1)))
    )
    f2 = np.asarray(freq_hz, dtype=np.float64) ** 2
    alpha = (
        8.686
        * f2
        * (
            1.84e-11 / pa * (t / _T0) ** 0.5
            + (t / _T0) ** -2.5
            * (
                0.01275 * math.exp(-2239.1 / t) / (fro + f2 / fro)
                + 0.1068 * math.exp(-3352.0 / t) / (frn + f2 / frn)
            )
        )
    )
    return float(alpha) if alpha.ndim == 0 else alpha


def first_order_images(
    points: FloatArray, size_m: tuple[float, float, float], reflection: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Mirror `points` (N, 3) in the six walls: images (6, N, 3) and amplitude factors (6,).

    `reflection` holds the amplitude coefficients of walls x=0, x=Lx, y=0, y=Ly, floor,
    ceiling. First-order images give the "repetitions" of each Doppler component the Echo
    article describes (physics.md, "Multipath").
    """
    images = np.repeat(points[None, :, :], 6, axis=0).copy()
    for axis in range(3):
        images[2 * axis, :, axis] = -points[:, axis]
        images[2 * axis + 1, :, axis] = 2.0 * size_m[axis] - points[:, axis]
    return images, np.asarray(reflection, dtype=np.float64)


def image_sources(
    source: FloatArray, size_m: tuple[float, float, float], reflection: FloatArray, order: int
) -> tuple[FloatArray, FloatArray]:
    """Allen-Berkley shoebox images of `source` up to `order` reflections (direct excluded).

    Returns positions (K, 3) and amplitude products of the wall coefficients (K,).
    """
    positions: list[list[float]] = []
    gains: list[float] = []
    span = range(-order, order + 1)
    for n in itertools.product(span, span, span):
        for q in itertools.product((0, 1), (0, 1), (0, 1)):
            counts = [abs(2 * n[a] - q[a]) for a in range(3)]
            total = sum(counts)
            if total == 0 or total > order:
                continue
            pos = [2 * n[a] * size_m[a] + (1 - 2 * q[a]) * source[a] for a in range(3)]
            gain = 1.0
            for a in range(3):
                gain *= reflection[2 * a] ** abs(n[a] - q[a]) * reflection[2 * a + 1] ** abs(n[a])
            positions.append(pos)
            gains.append(gain)
    return np.asarray(positions, dtype=np.float64), np.asarray(gains, dtype=np.float64)
