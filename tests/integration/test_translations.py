"""strings.json, translations/en.json, icons.json and the code agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from custom_components.ultrasonic_presence.const import KNOWN_ERRORS

PACKAGE = Path(__file__).resolve().parents[2] / "custom_components" / "ultrasonic_presence"
STRINGS = json.loads((PACKAGE / "strings.json").read_text(encoding="utf-8"))
SOURCES = {p.name: p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py")}


def test_english_translation_is_strings_json() -> None:
    """A custom integration ships its strings as translations/en.json, identical."""
    english = json.loads((PACKAGE / "translations" / "en.json").read_text(encoding="utf-8"))
    assert english == STRINGS
    assert "[%key:" not in json.dumps(STRINGS)  # references are not resolved at runtime


def test_code_translation_keys_exist() -> None:
    """Every translation_key the code raises or registers has a text."""
    keys = {
        key
        for source in SOURCES.values()
        for key in re.findall(r'translation_key="([a-z_]+)"', source)
    }
    known = (
        set(STRINGS["exceptions"])
        | set(STRINGS["selector"])
        | {k for platform in STRINGS["entity"].values() for k in platform}
    )
    assert keys <= known, keys - known


def test_flow_errors_and_steps_exist() -> None:
    """Form errors, aborts and steps used by the config flow have texts."""
    flow = SOURCES["config_flow.py"]
    errors = set(STRINGS["config"]["error"])
    # Engine codes map onto form errors (auth/disconnected renamed).
    mapped = (KNOWN_ERRORS - {"auth_failed", "disconnected"}) | {
        "invalid_auth",
        "cannot_connect",
        "calibration_failed",
        "unknown",
        "already_configured",
    }
    assert mapped <= errors, mapped - errors
    steps = set(STRINGS["config"]["step"]) | {"init"}  # init: the options flow
    assert set(STRINGS["options"]["step"]) == {"init"}
    for step in re.findall(r'step_id="([a-z_]+)"', flow):
        assert step in steps, step
    for reason in re.findall(r'reason="([a-z_]+)"', flow):
        assert reason in STRINGS["config"]["abort"], reason
    assert set(re.findall(r'progress_action="([a-z_]+)"', flow)) <= set(
        STRINGS["config"]["progress"]
    )


def test_issues_and_services_documented() -> None:
    """Repair issues and the action's fields have texts; icons cover every entity."""
    assert {"health_problem", "carrier_lost", "source_unavailable"} <= set(STRINGS["issues"])
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    for service, spec in services.items():
        assert set(spec["fields"]) == set(STRINGS["services"][service]["fields"])
    icons = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))
    for platform, entities in STRINGS["entity"].items():
        assert set(entities) == set(icons["entity"][platform]), platform
    assert set(icons["services"]) == set(services)
