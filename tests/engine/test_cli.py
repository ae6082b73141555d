"""The `uspd` console script: every registered command parses and documents itself."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from uspd import cli


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`uspd --help` names each command module."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMAND_MODULES:
        assert name in out


def test_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`uspd info --json` reports the interpreter the engine runs on."""
    assert cli.main(["info", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["python"].startswith("3.14")
    assert set(facts) >= {"uspd", "numpy", "scipy", "libc", "runtime", "models"}
    assert "presence.tflite" in facts["models"]


def test_console_script_is_installed() -> None:
    """.venv/bin/uspd exists and runs (pip install -e . wired the entry point)."""
    exe = sys.executable.rsplit("/", 1)[0] + "/uspd"
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("uspd ")


def test_unknown_command_fails() -> None:
    """A typo gives argparse's usage error, not a traceback."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["nonsense"])
    assert exit_info.value.code == 2
