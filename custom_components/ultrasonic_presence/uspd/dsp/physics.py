"""Acoustic constants the DSP needs, with their sources (see shared/notes/physics.md)."""

from __future__ import annotations

# Carriers this engine supports: 18 kHz (top of 44.1/48 kHz cards) to 45 kHz (96 kHz cards).
MIN_CARRIER_HZ = 17_000.0
MAX_CARRIER_HZ = 48_000.0


def speed_of_sound(temperature_c: float = 20.0) -> float:
    """Speed of sound in air, m/s: c ≈ 331.3 + 0.606·T (linearised, dry air)."""
    return 331.3 + 0.606 * temperature_c


def doppler_hz(velocity_mps: float, carrier_hz: float, temperature_c: float = 20.0) -> float:
    """Two-way Doppler shift of a reflector moving radially: Δf = 2·v·f0/c."""
    return 2.0 * velocity_mps * carrier_hz / speed_of_sound(temperature_c)


def exposure_limit_db_spl(carrier_hz: float) -> float:
    """Airborne-ultrasound limit for the band holding `carrier_hz`, dB SPL.

    Consensus (< 4 h) limits from Howard, Hansen & Zander (2004): 75 dB SPL in the
    20 kHz third-octave band, 110 dB SPL for 25–50 kHz. Below 25 kHz we apply the
    stricter 75 dB. These are occupational ceilings; calibration aims far lower.
    """
    return 75.0 if carrier_hz < 25_000.0 else 110.0
