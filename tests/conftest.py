"""Shared fixtures: custom integrations enabled for every HA test, shared-data lookup."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

if os.environ.get("USPD_TEST_WITHOUT_LITERT"):
    # As on Home Assistant OS (musl, no LiteRT wheel): scripts/test's second pass runs
    # the engine tests this way, so the numpy executor carries every pipeline test.
    sys.modules["ai_edge_litert"] = None  # type: ignore[assignment]
    sys.modules["ai_edge_litert.interpreter"] = None  # type: ignore[assignment]

REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout holds real recordings; a user's clone has none.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    request: pytest.FixtureRequest,
) -> Generator[None]:
    """Let HA load custom_components/ in every test that uses the `hass` fixture."""
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")
    yield


@pytest.fixture
def shared_data() -> Path:
    """Path to ../shared/data, or skip with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not available: {SHARED_DATA} is absent (user clone)")
    return SHARED_DATA
