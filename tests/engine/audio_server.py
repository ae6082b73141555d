"""A real audio server for tests: PulseAudio in a private directory + a simulated room.

PulseAudio runs as a child process (as root too: `-n -F script` with private runtime
and config dirs, no system instance) with two 96 kHz float null sinks:

  "speaker": what the sound card source plays; the room records speaker.monitor;
  "mic":     4 channels the room plays its echoes into; mic.monitor is the default
             source, i.e. what the sound card source captures.

PortAudio (ALSA host API) reaches the server through ALSA's "pulse" plugin with
PULSE_SERVER set. `Room` moves audio speaker.monitor → echoes → mic with `parec` and
`pacat` child processes, using the engine simulator's shoebox image sources and air
absorption for static echoes plus one moving reflector (a swaying person: Doppler).
`start_server` returns None with a reason when the machine cannot run it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from uspd.dsp.physics import speed_of_sound
from uspd.sim.acoustics import absorption_db_per_m, image_sources

RATE = 96_000
MICS = 4
SERVER_SCRIPT = """
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name=speaker rate={rate} channels=1 format=float32le
load-module module-null-sink sink_name=mic rate={rate} channels={mics} format=float32le
set-default-sink speaker
set-default-source mic.monitor
"""


@dataclass
class PulseServer:
    """A running private PulseAudio; `env` reaches it (PULSE_SERVER)."""

    process: subprocess.Popen[bytes]
    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def pactl(self, *args: str) -> str:
        return subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10, check=True
        ).stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def unavailable_reason() -> str | None:
    """Why a PulseAudio test server cannot run here (None: it can)."""
    for tool in ("pulseaudio", "pactl", "parec", "pacat"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (scripts/setup-audio installs pulseaudio)"
    import ctypes.util
    import importlib.util

    if importlib.util.find_spec("sounddevice") is None:
        return "sounddevice is not installed"
    if ctypes.util.find_library("portaudio") is None:
        return "PortAudio (libportaudio2) is not installed"
    return None


def start_server(root: Path) -> tuple[PulseServer | None, str | None]:
    """Start PulseAudio under `root`; (server, None) or (None, reason)."""
    reason = unavailable_reason()
    if reason:
        return None, reason
    run = root / "run"
    for sub in (run, root / "config" / "pulse", root / "home"):
        sub.mkdir(parents=True, exist_ok=True)
    run.chmod(0o700)
    sock = run / "native"
    script = root / "server.pa"
    script.write_text(SERVER_SCRIPT.format(socket=sock, rate=RATE, mics=MICS))
    env = {
        **os.environ,
        "HOME": str(root / "home"),
        "XDG_RUNTIME_DIR": str(run),
        "XDG_CONFIG_HOME": str(root / "config"),
        "PULSE_SERVER": f"unix:{sock}",
    }
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    log = (root / "pulseaudio.log").open("wb")
    process = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(script), "--exit-idle-time=-1", "--daemonize=no",
         "--use-pid-file=no", "--log-target=stderr", "--disable-shm=yes"],
        env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    server = PulseServer(process, root, env)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None, f"pulseaudio exited: {(root / 'pulseaudio.log').read_text()[-500:]}"
        with contextlib.suppress(subprocess.SubprocessError):
            if "speaker" in server.pactl("list", "short", "sinks"):
                return server, None
        time.sleep(0.2)
    server.stop()
    return None, "pulseaudio did not come up within 15 s"


def serving(root: Path, refresh_devices: Callable[[], object]) -> Iterator[PulseServer]:
    """Start a private server and make it the one PortAudio sees; undo it all on exit.

    Skips the calling test (with the reason) where the server cannot start here.
    `refresh_devices` is the sound card module's re-scan (tests import that module
    under two names: the engine's and the integration's).
    """
    import pytest

    server, reason = start_server(root)
    if server is None:
        pytest.skip(f"PulseAudio test server cannot start here: {reason}")
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = server.env["PULSE_SERVER"]
    refresh_devices()
    try:
        yield server
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous
        refresh_devices()


class Room:
    """speaker.monitor → simulated echoes (static image sources + a swaying person) → mic."""

    CHUNK = 1920  # 20 ms
    TAPS = 8  # windowed-sinc fractional delay for the moving path

    def __init__(self, server: PulseServer, *, person_gain: float = 0.05) -> None:
        self.env = server.env
        c = speed_of_sound(20.0)
        size = (4.0, 5.0, 2.6)
        speaker = np.array([0.5, 0.5, 1.0])
        mics = speaker + np.array([[0.05, 0, 0], [-0.05, 0, 0], [0, 0.05, 0], [0, -0.05, 0]])
        images, refl = image_sources(speaker, size, np.full(6, 0.6), order=2)
        sources = np.vstack([speaker[None, :], images])
        gains = np.concatenate([[1.0], refl])
        dist = np.linalg.norm(mics[:, None, :] - sources[None, :, :], axis=-1)  # (mics, paths)
        loss = 10 ** (-np.asarray(absorption_db_per_m(40_000.0)) * dist / 20)
        self.delays = np.rint(dist / c * RATE).astype(int)
        self.gains = gains[None, :] * loss * 0.05 / dist  # 5 cm from the speaker: gain ≈ 1
        self.person_gain = person_gain
        self.speaker, self.mics = speaker, mics
        self.c = c
        self.history = np.zeros(RATE // 2)
        self.t = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.chunks = 0

    def person_delay(self, n: np.ndarray) -> np.ndarray:
        """Speaker → person → each mic delay (samples), (len(n), MICS): a person 2.5 m
        away swaying ±0.5 m at 0.5 Hz along a line off the device's axis."""
        r = 2.5 + 0.5 * np.sin(2 * np.pi * 0.5 * n / RATE)
        direction = np.array([0.6, 0.7, 0.1]) / np.linalg.norm([0.6, 0.7, 0.1])
        person = self.speaker + r[:, None] * direction[None, :]
        out = np.linalg.norm(person - self.speaker, axis=1)
        back = np.linalg.norm(person[:, None, :] - self.mics[None, :, :], axis=2)
        return (out[:, None] + back) / self.c * RATE

    def process(self, x: np.ndarray) -> np.ndarray:
        """Echoes of one chunk of speaker signal, (n, MICS) float32."""
        n = x.shape[0]
        hist = np.concatenate([self.history, x])
        self.history = hist[-self.history.size :]
        base = hist.size - n
        y = np.zeros((n, MICS))
        idx = base + np.arange(n)
        for m in range(MICS):
            y[:, m] = hist[idx[:, None] - self.delays[m][None, :]] @ self.gains[m]
        # Moving reflector: windowed-sinc interpolation at a time-varying delay per mic.
        delays = self.person_delay(self.t + np.arange(n))
        offsets = np.arange(-self.TAPS // 2 + 1, self.TAPS // 2 + 1)
        window = np.hanning(self.TAPS + 2)[1:-1]
        pos = idx[:, None] - delays
        k0 = np.floor(pos).astype(int)
        taps = np.sinc((pos - k0)[..., None] - offsets) * window
        echo = np.sum(hist[k0[..., None] + offsets] * taps, axis=-1)
        y += self.person_gain * echo / (2.5 * 2.5)
        self.t += n
        return y.astype(np.float32)

    def start(self) -> None:
        fmt = ["--raw", "--format=float32le", f"--rate={RATE}", "--latency-msec=20"]
        self.rec = subprocess.Popen(
            ["parec", "-d", "speaker.monitor", "--channels=1", *fmt],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.play = subprocess.Popen(
            ["pacat", "-p", "-d", "mic", f"--channels={MICS}", *fmt],
            env=self.env, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        assert self.rec.stdout is not None and self.play.stdin is not None
        size = self.CHUNK * 4
        while not self._stop.is_set():
            data = self.rec.stdout.read(size)
            if not data or len(data) < size:
                break
            y = self.process(np.frombuffer(data, dtype="<f4").astype(np.float64))
            try:
                self.play.stdin.write(y.tobytes())
                self.play.stdin.flush()
            except BrokenPipeError, ValueError:
                break
            self.chunks += 1

    def stop(self) -> None:
        self._stop.set()
        if self.play.stdin is not None:
            with contextlib.suppress(OSError):
                self.play.stdin.close()
        for proc in (self.rec, self.play):
            proc.kill()
            proc.wait(5)
        if self._thread is not None:
            self._thread.join(5)
