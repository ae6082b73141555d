"""Stand-ins for engine modules that have not landed yet (exactly the agreed contract).

`install()` puts them into sys.modules only when the real module cannot be imported,
so the tests run against the real engine as soon as it exists.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

PKG = "custom_components.ultrasonic_presence.uspd"


@dataclass(frozen=True, kw_only=True)
class CalibrationResult:
    """Calibration outcome (contract; the engine's has more measured fields)."""

    carrier_hz: float
    level_dbfs: float
    snr_db: float
    response: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {**data.pop("extra"), **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationResult:
        main = ("carrier_hz", "level_dbfs", "snr_db", "response", "warnings")
        return cls(
            **{k: data[k] for k in main if k in data},
            extra={k: v for k, v in data.items() if k not in main},
        )


class CalibrationError(Exception):
    """Calibration failed (contract)."""

    def __init__(self, message: str, code: str = "no_ultrasonic_response") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, kw_only=True)
class RunnerOptions:
    """Options (contract)."""

    sensitivity: float = 0.5
    hold_time_s: float = 60.0
    minor_window_s: float = 120.0
    emission_pause_s: float = 0.0
    max_level_dbfs: float = -6.0
    band: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunnerOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, kw_only=True)
class SensorState:
    """One decision (contract)."""

    t: float
    occupied: bool
    motion_level: float
    motion_class: str
    carrier_hz: float
    snr_db: float
    emission_level_dbfs: float | None
    emission_enabled: bool
    music_present: bool
    reason: str


class PresenceRunner:
    """Never used directly: tests patch a FakeRunner in its place."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the real PresenceRunner has not landed; patch it in tests")


def check_hardware(spec: Any) -> None:
    raise RuntimeError("the real check_hardware has not landed; patch it in tests")


def run_calibration(spec: Any, options: Any) -> CalibrationResult:
    raise RuntimeError("the real run_calibration has not landed; patch it in tests")


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def install() -> None:
    """Install the stand-ins for whatever engine module is missing."""
    if not _importable(f"{PKG}.dsp.calibration"):
        cal = types.ModuleType(f"{PKG}.dsp.calibration")
        cal.CalibrationResult = CalibrationResult  # type: ignore[attr-defined]
        cal.CalibrationError = CalibrationError  # type: ignore[attr-defined]
        sys.modules[cal.__name__] = cal
    if not _importable(f"{PKG}.runner"):
        from custom_components.ultrasonic_presence.uspd.audio.factory import SourceSpec

        runner = types.ModuleType(f"{PKG}.runner")
        for obj in (
            SourceSpec,
            RunnerOptions,
            SensorState,
            PresenceRunner,
            check_hardware,
            run_calibration,
        ):
            setattr(runner, obj.__name__, obj)
        sys.modules[runner.__name__] = runner
