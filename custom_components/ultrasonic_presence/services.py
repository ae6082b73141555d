"""Actions of the Ultrasonic Presence integration."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import probatio
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_LABEL,
    ATTR_SECONDS,
    CLIP_LABELS,
    CLIPS_DIR,
    DOMAIN,
    SERVICE_CAPTURE_CLIP,
)
from .coordinator import UltrasonicPresenceConfigEntry

CAPTURE_CLIP_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_SECONDS, default=10): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=60)
        ),
        probatio.Required(ATTR_LABEL): probatio.In(CLIP_LABELS),
    }
)


def _loaded_entry(hass: HomeAssistant, entry_id: str) -> UltrasonicPresenceConfigEntry:
    """Return the loaded config entry an action call names, or raise a translated error."""
    entry: UltrasonicPresenceConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


def _write_clip(
    directory: Path, stem: str, features: np.ndarray[Any, Any], meta: dict[str, Any]
) -> Path:
    """Write features (.npz) and metadata (.json) side by side (executor)."""
    directory.mkdir(parents=True, exist_ok=True)
    npz_path = directory / f"{stem}.npz"
    np.savez_compressed(npz_path, features=features)
    (directory / f"{stem}.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return npz_path


async def _async_capture_clip(call: ServiceCall) -> ServiceResponse:
    """Save the last N seconds of feature frames (never audio) with a label."""
    hass = call.hass
    entry = _loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
    coordinator = entry.runtime_data
    runner = coordinator.require_runner()
    seconds: int = call.data[ATTR_SECONDS]
    label: str = call.data[ATTR_LABEL]
    try:
        features, runtime = await hass.async_add_executor_job(
            lambda: (runner.capture_features(float(seconds)), runner.runtime)
        )
    except Exception as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="capture_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    now = dt_util.utcnow()
    stem = f"{now.strftime('%Y%m%dT%H%M%SZ')}_{entry.entry_id}_{label}"
    meta: dict[str, Any] = {
        "label": label,
        "seconds": seconds,
        "captured_at": now.isoformat(),
        "entry_title": entry.title,
        "source_kind": coordinator.spec.kind,
        "runtime": runtime,
        "options": coordinator.options.to_dict(),
        "calibration": coordinator.calibration.to_dict(),
        "last_state": asdict(coordinator.data) if coordinator.data is not None else None,
        "feature_shape": list(features.shape),
    }
    directory = Path(hass.config.path(DOMAIN, CLIPS_DIR))
    try:
        path = await hass.async_add_executor_job(_write_clip, directory, stem, features, meta)
    except OSError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="clip_write_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    return {"path": str(path), "frames": int(features.shape[0])}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, in async_setup)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_CAPTURE_CLIP,
        _async_capture_clip,
        schema=CAPTURE_CLIP_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
