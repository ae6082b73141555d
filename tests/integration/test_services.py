"""The capture_clip action of the Ultrasonic Presence integration."""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ultrasonic_presence.const import DOMAIN, SERVICE_CAPTURE_CLIP

from .conftest import FakeRunner


async def test_capture_clip(
    hass: HomeAssistant, init_integration: MockConfigEntry, runner: FakeRunner
) -> None:
    """Features (not audio), label and options land under <config>/ultrasonic_presence/clips."""
    response = await hass.services.async_call(
        DOMAIN,
        SERVICE_CAPTURE_CLIP,
        {"config_entry_id": init_integration.entry_id, "seconds": 5, "label": "false_alarm"},
        blocking=True,
        return_response=True,
    )
    assert runner.captured == [5.0]
    assert response is not None
    npz = Path(str(response["path"]))
    assert npz.parent == Path(hass.config.path(DOMAIN, "clips"))
    assert npz.name.endswith(f"_{init_integration.entry_id}_false_alarm.npz")
    assert response["frames"] == 100
    with np.load(npz) as clip:
        assert clip["features"].shape == (100, 8)
    meta = json.loads(npz.with_suffix(".json").read_text())
    assert meta["label"] == "false_alarm"
    assert meta["seconds"] == 5
    assert meta["options"] == dict(init_integration.options)
    assert meta["runtime"] == "numpy"
    assert meta["feature_shape"] == [100, 8]
    assert meta["last_state"]["occupied"] is True

    # Without asking for a response, the default length is used.
    await hass.services.async_call(
        DOMAIN,
        SERVICE_CAPTURE_CLIP,
        {"config_entry_id": init_integration.entry_id, "label": "missed"},
        blocking=True,
    )
    assert runner.captured == [5.0, 10.0]


async def test_capture_clip_unknown_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An unknown entry id is a validation error."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            SERVICE_CAPTURE_CLIP,
            {"config_entry_id": "nope", "label": "other"},
            blocking=True,
        )
    assert err.value.translation_key == "entry_not_found"


async def test_capture_clip_not_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An unloaded entry is a validation error."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            SERVICE_CAPTURE_CLIP,
            {"config_entry_id": init_integration.entry_id, "label": "other"},
            blocking=True,
        )
    assert err.value.translation_key == "entry_not_loaded"


async def test_capture_clip_engine_error(
    hass: HomeAssistant, init_integration: MockConfigEntry, runner: FakeRunner
) -> None:
    """A failing capture is a HomeAssistantError."""
    with (
        patch.object(runner, "capture_features", side_effect=RuntimeError("no pipeline")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await hass.services.async_call(
            DOMAIN,
            SERVICE_CAPTURE_CLIP,
            {"config_entry_id": init_integration.entry_id, "label": "other"},
            blocking=True,
        )
    assert err.value.translation_key == "capture_failed"


async def test_capture_clip_write_error(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A disk error is a HomeAssistantError."""
    with (
        patch("numpy.savez_compressed", side_effect=OSError("disk full")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await hass.services.async_call(
            DOMAIN,
            SERVICE_CAPTURE_CLIP,
            {"config_entry_id": init_integration.entry_id, "label": "other"},
            blocking=True,
        )
    assert err.value.translation_key == "clip_write_failed"
    assert err.value.translation_placeholders == {"error": "disk full"}
