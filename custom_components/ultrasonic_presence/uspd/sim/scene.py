"""Room and device descriptions (frozen dataclasses, the user-facing part of a scenario)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Room:
    """A shoebox room; x along the device wall's normal, z up, origin in a floor corner.

    Reflection coefficients are amplitude factors at ultrasound (hard walls ≈ 0.8,
    furnished/curtained ≈ 0.3); order is walls x=0, x=Lx, y=0, y=Ly, floor, ceiling.
    """

    size_m: tuple[float, float, float] = (5.0, 4.0, 2.6)
    reflection: tuple[float, float, float, float, float, float] = (0.6, 0.6, 0.6, 0.6, 0.5, 0.7)
    temperature_c: float = 21.0
    humidity_pct: float = 45.0
    door_m: tuple[float, float] = (5.0, 3.2)
    static_order: int = 3

    @staticmethod
    def anechoic(size_m: tuple[float, float, float] = (8.0, 8.0, 3.0)) -> Room:
        """No reflections: clean single-path echoes for physics tests."""
        return Room(size_m=size_m, reflection=(0.0,) * 6, door_m=(size_m[0], size_m[1] / 2))


@dataclass(frozen=True)
class DeviceSpec:
    """The speaker + mic-array hardware; random parts are drawn from `hw_seed`.

    Levels are amplitude ratios in dB re the speaker drive: `direct_db` is the
    speaker→mic coupling through the enclosure (the strongest component, physics.md),
    `echo_ref_db` is a free-field path of 1 m (echo level = echo_ref·sqrt(σ/4π)/(r1·r2)).
    `speaker_cutoff_hz` None draws a random roll-off (some devices give almost nothing
    above 30 kHz, physics.md "Hardware"); mic mismatch is per-mic gain/phase spread.
    """

    position_m: tuple[float, float, float] | None = None
    facing_rad: float = 0.0
    mic_radius_m: float = 0.035
    hw_seed: int | None = None
    speaker_cutoff_hz: float | None = None
    ripple_db: float = 3.0
    direct_db: float = -20.0
    echo_ref_db: float = -30.0
    mic_mismatch_db: float = 1.0
    mic_phase_deg: float = 8.0
    mic_noise_dbfs_hz: float | None = -135.0
    adc_bits: int | None = 24
