"""Does the calibration still hold? A passive check on the pipeline's own output.

The carrier a room's microphones receive drops when the speaker is moved, covered or
turned down; the Doppler band's noise rises with a new ultrasonic source (another
device's tone, a switching power supply). Either makes the calibration's level and SNR
wrong, so the runner re-calibrates and Home Assistant raises a repair issue. Nothing here
shapes features: it reads the frames the DSP made (carrier per mic, motion plane).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .dsp.calibration import CalibrationResult, doppler_halfwidth_hz
from .dsp.features import FRAME_HOP_S, PLANE_MOTION, FeatureFrames


@dataclass(frozen=True)
class HealthStatus:
    """Whether the calibration still holds."""

    needs_recalibration: bool
    reasons: tuple[str, ...]
    carrier_drop_db: float  # below the calibrated received level (positive = weaker)
    noise_rise_db: float  # Doppler-band noise density above calibration


class HealthMonitor:
    """Carrier drop or new noise/interference near the carrier, persisting HOLD_S.

    Feed it the FeatureFrames the chain produces, in order. Per frame it costs a few
    whole-array operations for all of a block's frames and a few Python steps: it runs
    in every room at the frame rate (as `np.median` and a FeatureFrames per frame, it
    had cost Home Assistant's pipeline ≈ 15 % more CPU than `uspd bench` measured).
    """

    HOLD_S = 30.0
    DROP_DB = 10.0
    NOISE_RISE_DB = 15.0

    def __init__(self, calibration: CalibrationResult) -> None:
        self.calibration = calibration
        half = doppler_halfwidth_hz(calibration.carrier_hz)
        # Expected noise density re carrier power, dBc/Hz (features' unit).
        self.expected_noise_dbc_hz = (
            calibration.noise_dbfs
            - 10.0 * math.log10(2.0 * half)
            - (calibration.received_dbfs - 3.0103)
        )
        self._hold_frames = round(self.HOLD_S / FRAME_HOP_S)
        self._drop_frames = 0
        self._noise_frames = 0
        # The latest settled frame's figures (what a status reports until the next).
        self._drop = 0.0
        self._rise = 0.0

    def update(self, frames: FeatureFrames) -> HealthStatus:
        """Account for new frames; report the state after the last of them."""
        statuses = self.update_each(frames)
        return statuses[-1] if statuses else self._status()

    def update_each(self, frames: FeatureFrames) -> list[HealthStatus]:
        """Account for new frames; the state after each of them, in order."""
        n = frames.features.shape[0]
        if n == 0:
            return []
        carrier = frames.carrier
        power = np.add.reduce(carrier.real * carrier.real + carrier.imag * carrier.imag, axis=1)
        received = 10.0 * np.log10(power / carrier.shape[1] + 1e-30)
        drops = (self.calibration.received_dbfs - received).tolist()
        # Median over velocity bins = noise floor even while someone walks.
        rises = (
            row_medians(frames.features[:, :, PLANE_MOTION]) - self.expected_noise_dbc_hz
        ).tolist()
        settled, music = frames.settled.tolist(), frames.music.tolist()
        statuses = []
        for i in range(n):
            if settled[i]:
                self._drop, self._rise = drops[i], rises[i]
                self._drop_frames = self._drop_frames + 1 if self._drop > self.DROP_DB else 0
                bad_noise = self._rise > self.NOISE_RISE_DB and not music[i]
                self._noise_frames = self._noise_frames + 1 if bad_noise else 0
            statuses.append(self._status())
        return statuses

    def _status(self) -> HealthStatus:
        reasons = []
        if self._drop_frames >= self._hold_frames:
            reasons.append(f"carrier {self._drop:.0f} dB weaker than at calibration")
        if self._noise_frames >= self._hold_frames:
            reasons.append(
                f"noise or a new tone near the carrier ({self._rise:.0f} dB above calibration)"
            )
        return HealthStatus(
            needs_recalibration=bool(reasons),
            reasons=tuple(reasons),
            carrier_drop_db=self._drop,
            noise_rise_db=self._rise,
        )


def row_medians(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """np.median along axis 1 (its definition, in float64), by one partition: without
    np.median's per-call cost, which matters at the frame rate."""
    count = rows.shape[1]
    middle = count // 2
    kth = (middle,) if count % 2 else (middle - 1, middle)
    picked = np.partition(rows, kth, axis=1)[:, kth[0] : middle + 1].astype(np.float64)
    medians: npt.NDArray[np.float64] = picked.sum(axis=1) / len(kth)
    return medians
