"""A real Home Assistant (the newest release, from .venv-ha) in a child process, for tests.

Shared by the boot smoke test and the browser test: a throw-away config directory made
from config/configuration.yaml on a free loopback port, onboarded (and optionally given
the simulated-room entry) by scripts/ha_provision.py — all HTTP happens in child
processes because the test plugin blocks sockets in the test process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HASS = REPO / ".venv-ha" / "bin" / "hass"
HA_PYTHON = REPO / ".venv-ha" / "bin" / "python"
PROVISION = REPO / "scripts" / "ha_provision.py"


@dataclass
class RunningHass:
    """A started instance."""

    url: str
    config: Path
    log_file: Path
    env: dict[str, str]

    def provision(self, *args: str, timeout: float = 420) -> subprocess.CompletedProcess[str]:
        """Run scripts/ha_provision.py against this instance."""
        return subprocess.run(
            [str(HA_PYTHON), str(PROVISION), "--url", self.url, "--timeout", "300", *args],
            check=True,
            timeout=timeout,
            env=self.env,
            capture_output=True,
            text=True,
        )

    def log(self) -> str:
        """The HA log so far."""
        return self.log_file.read_text(encoding="utf-8")


def require_newest_hass() -> None:
    """Fail in CI, skip elsewhere, when .venv-ha is missing."""
    if not HASS.exists():
        if os.environ.get("CI"):
            pytest.fail("scripts/test must create .venv-ha (scripts/setup-ha) before pytest")
        pytest.skip("newest Home Assistant not installed: run scripts/setup-ha")


def free_port() -> int:
    """A free loopback port, found in a child process."""
    code = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    out = subprocess.run([str(HA_PYTHON), "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


@contextmanager
def running_hass(tmp_path: Path) -> Iterator[RunningHass]:
    """Start `hass` on a fresh config; stop it (SIGTERM, then SIGKILL) afterwards."""
    require_newest_hass()
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    base = (REPO / "config" / "configuration.yaml").read_text(encoding="utf-8")
    http = f"\nhttp:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
    (config / "configuration.yaml").write_text(base + http, encoding="utf-8")
    (config / "custom_components").symlink_to(REPO / "custom_components")
    for name, empty in (("automations", "[]"), ("scripts", "{}"), ("scenes", "[]")):
        (config / f"{name}.yaml").write_text(empty + "\n", encoding="utf-8")
    log_file = config / "home-assistant.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    process = subprocess.Popen(
        [str(HASS), "--config", str(config), "--log-file", str(log_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        yield RunningHass(f"http://127.0.0.1:{port}", config, log_file, env)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def parse_json_line(text: str) -> Any:
    """The last JSON line a provisioning run printed."""
    lines = [line for line in text.splitlines() if line.startswith("{")]
    assert lines, text
    return json.loads(lines[-1])
