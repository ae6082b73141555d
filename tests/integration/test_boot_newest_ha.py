"""Boot the Home Assistant users run today (.venv-ha, 2026.11.x) with the integration.

The PHCC tests run against the HA version the test plugin pins; this one proves the
integration loads on the newest release too: a real `hass` process, onboarding and the
simulated-room config flow over the REST API (scripts/ha_provision.py, as in
scripts/develop), the occupancy entity reporting, and a log free of errors from us, of
failed setups and of "Detected blocking call".
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from .hass_process import parse_json_line, running_hass

DOMAIN = "ultrasonic_presence"

pytestmark = pytest.mark.slow


def test_newest_home_assistant_boots_with_integration(tmp_path: Path) -> None:
    """Onboard, add the simulated room, see the occupancy entity, read a clean log."""
    with running_hass(tmp_path) as hass:
        provision = hass.provision("--wait-occupancy", "60")
        occupancy = parse_json_line(provision.stdout)
        assert occupancy["state"] in ("on", "off"), occupancy
        assert occupancy["entity_id"].startswith("binary_sensor.")
    log = hass.log()
    if os.environ.get("USPD_KEEP_HA_LOG"):
        shutil.copy(hass.log_file, os.environ["USPD_KEEP_HA_LOG"])
    assert "Detected blocking call" not in log
    assert f"custom integration {DOMAIN}" in log  # HA's own "we found a custom integration"
    # The entity above proves the set-up. (HA logs "Setup of domain … took" only while it
    # is still starting — homeassistant/setup.py skips it once running — so whether that
    # line appears depends on how fast this machine boots HA before the flow runs.)
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
    failed = [line for line in log.splitlines() if "Setup failed" in line]
    assert not failed, failed
