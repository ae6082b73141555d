"""The `uspd` console script: every registered command parses and documents itself;
`uspd probe`'s tone sweep."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
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


class _StallingCard:
    """A card whose sound server swallows the first `stalls` reads of a tone (a stall
    past the settle time) and that cannot play `dead` at all."""

    sample_rate = 48_000

    def __init__(self, stalls: int, dead: float | None = None) -> None:
        self.freq: float | None = None
        self.amp = 0.0
        self.stalls, self.dead, self.n = stalls, dead, 0
        self.rng = np.random.default_rng(0)

    def set_emission(self, freq: float | None, level_dbfs: float) -> None:
        self.freq, self.amp = freq, 10.0 ** (level_dbfs / 20.0)

    def read(self, n: int) -> np.ndarray:
        t = (self.n + np.arange(n)) / self.sample_rate
        self.n += n
        x = 1e-5 * self.rng.standard_normal((n, 2))
        if self.freq is not None and self.freq != self.dead:
            if self.stalls:
                self.stalls -= 1
            else:
                x += self.amp * np.sin(2.0 * np.pi * self.freq * t)[:, None]
        return x.astype(np.float32)


def test_probe_measures_a_stalled_tone_again() -> None:
    """`uspd probe`: a tone held back by a stall is measured again (not reported as a
    frequency the card cannot play); a dead frequency is still reported dead."""
    from uspd.commands.probe import RETRIES, sweep
    from uspd.dsp.calibration import MIN_SNR_DB

    stalled, dead = sweep(_StallingCard(stalls=1, dead=20_000.0), -20.0, [18_000.0, 20_000.0])
    assert stalled["tries"] == 2
    assert abs(stalled["gain_db"]) < 1.0 and stalled["snr_db"] >= MIN_SNR_DB
    assert dead["tries"] == RETRIES + 1 and dead["snr_db"] < MIN_SNR_DB
    (steady,) = sweep(_StallingCard(stalls=0), -20.0, [18_000.0])
    assert steady["tries"] == 1 and abs(steady["gain_db"]) < 1.0
