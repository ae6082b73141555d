"""Diagnostics of the Ultrasonic Presence integration."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_KEY
from .coordinator import UltrasonicPresenceConfigEntry

TO_REDACT = {CONF_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: UltrasonicPresenceConfigEntry
) -> dict[str, Any]:
    """Options, calibration, runtime, recent decision statistics; the node key redacted."""
    coordinator = entry.runtime_data
    runner = coordinator.require_runner()
    # Both may take the runner's lock or load the model: not on the event loop.
    statistics, runtime = await hass.async_add_executor_job(
        lambda: (runner.statistics(), runner.runtime)
    )
    return {
        "source": async_redact_data(coordinator.spec.to_dict(), TO_REDACT),
        "options": coordinator.options.to_dict(),
        "calibration": coordinator.calibration.to_dict(),
        "runtime": runtime,
        "health_problem": runner.health_problem,
        "available": coordinator.last_update_success,
        "unavailable_reason": coordinator.unavailable_reason,
        "unavailable_code": coordinator.unavailable_code,
        "state": asdict(coordinator.data) if coordinator.data is not None else None,
        "statistics": statistics,
    }
