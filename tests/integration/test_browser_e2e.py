"""End to end in a real browser: add the integration through Home Assistant's UI.

Debian chromium driven by playwright-core (tests/e2e/add_integration.mjs) against the
newest Home Assistant: log in, add Ultrasonic Presence on the simulated room, walk the
calibration progress step, and open the device page with the occupancy entity and the
pipeline's processing load (a number once the runner has measured 5 s). The
screenshots land in $USPD_E2E_SHOTS (default: a temp dir); README shows one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .hass_process import REPO, running_hass

E2E = REPO / "tests" / "e2e"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

pytestmark = pytest.mark.slow


def _require_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (Debian package chromium)")
    if not (E2E / "node_modules" / "playwright-core").is_dir() or not shutil.which("node"):
        missing.append("node + tests/e2e/node_modules (npm ci in tests/e2e)")
    if missing:
        message = "browser test needs " + ", ".join(missing) + " — scripts/test installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_add_integration_through_the_ui(tmp_path: Path) -> None:
    _require_browser()
    shots = Path(os.environ.get("USPD_E2E_SHOTS", tmp_path / "shots"))
    with running_hass(tmp_path) as hass:
        hass.provision("--no-entry")
        result = subprocess.run(
            ["node", str(E2E / "add_integration.mjs"), hass.url, str(shots)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**hass.env, "CHROMIUM": str(CHROMIUM)},
            check=False,
        )
        log = hass.log()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "device page:" in result.stdout
    assert "processing load:" in result.stdout  # the real runner's load reached the UI
    for name in ("01-source", "02-calibration", "03-device"):
        assert (shots / f"{name}.png").stat().st_size > 10_000
    assert "Detected blocking call" not in log
