"""Boot the Home Assistant users run today (.venv-ha, 2026.11.x) with the integration.

The PHCC tests run against the HA version the test plugin pins; this one proves the
integration loads on the newest release too: a real `hass` process, onboarding and the
simulated-room config flow over the REST API (scripts/ha_provision.py, as in
scripts/develop), the occupancy entity present, and a log free of errors from us and of
"Detected blocking call".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HASS = REPO / ".venv-ha" / "bin" / "hass"
HA_PYTHON = REPO / ".venv-ha" / "bin" / "python"
DOMAIN = "ultrasonic_presence"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    """A free loopback port, found in a child process (the test plugin blocks sockets here)."""
    code = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    out = subprocess.run([str(HA_PYTHON), "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.fixture
def newest_hass(tmp_path: Path) -> str:
    """Path of .venv-ha's hass; fail in CI, skip elsewhere, when it is not set up."""
    if not HASS.exists():
        if os.environ.get("CI"):
            pytest.fail("scripts/test must create .venv-ha (scripts/setup-ha) before pytest")
        pytest.skip("newest Home Assistant not installed: run scripts/setup-ha")
    return str(HASS)


def test_newest_home_assistant_boots_with_integration(newest_hass: str, tmp_path: Path) -> None:
    """Onboard, add the simulated room, see the occupancy entity, read a clean log."""
    config = tmp_path / "config"
    config.mkdir()
    port = _free_port()
    text = (REPO / "config" / "configuration.yaml").read_text(encoding="utf-8")
    (config / "configuration.yaml").write_text(
        text.replace("server_port: 8123", f"server_port: {port}"), encoding="utf-8"
    )
    (config / "custom_components").symlink_to(REPO / "custom_components")
    for name, empty in (("automations", "[]"), ("scripts", "{}"), ("scenes", "[]")):
        (config / f"{name}.yaml").write_text(empty + "\n", encoding="utf-8")
    log_file = config / "home-assistant.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    hass = subprocess.Popen(
        [newest_hass, "--config", str(config), "--log-file", str(log_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        provision = subprocess.run(
            [
                str(HA_PYTHON),
                str(REPO / "scripts" / "ha_provision.py"),
                "--url",
                f"http://127.0.0.1:{port}",
                "--timeout",
                "300",
                "--wait-occupancy",
                "60",
            ],
            check=True,
            timeout=420,
            env=env,
            capture_output=True,
            text=True,
        )
        assert provision.stdout.strip(), provision.stderr
        occupancy = json.loads(provision.stdout)
        assert occupancy["state"] in ("on", "off"), occupancy
        assert occupancy["entity_id"].startswith("binary_sensor.")
    finally:
        os.killpg(hass.pid, signal.SIGTERM)
        try:
            hass.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(hass.pid, signal.SIGKILL)
            hass.wait()
    log = log_file.read_text(encoding="utf-8")
    if os.environ.get("USPD_KEEP_HA_LOG"):
        shutil.copy(log_file, os.environ["USPD_KEEP_HA_LOG"])
    assert "Detected blocking call" not in log
    assert f"custom integration {DOMAIN}" in log  # HA's own "we found a custom integration"
    our_errors = [
        line
        for line in log.splitlines()
        if (" ERROR " in line or " CRITICAL " in line) and (DOMAIN in line or "uspd" in line)
    ]
    assert not our_errors, our_errors
    # A traceback block runs until the next time-stamped record.
    blocks = re.split(r"\n(?=\d{4}-\d\d-\d\d )", log)
    our_tracebacks = [b for b in blocks if "Traceback" in b and DOMAIN in b]
    assert not our_tracebacks, our_tracebacks
    assert "Setup failed" not in log, [line for line in log.splitlines() if "Setup failed" in line]
