"""Node link faults: node killed and restarted, network frozen (SIGSTOP), client
vanishing, and a 1-hour (stream time) soak for memory growth.

The node runs as a real `uspd node` child process (simulated room, --fast) on
loopback; Home Assistant's side is the real PresenceRunner thread with a short backoff.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from uspd import runner as runner_module
from uspd.audio.factory import SourceSpec
from uspd.audio.source import AudioBlock
from uspd.dsp.calibration import CalibrationResult
from uspd.node.client import NodeClient
from uspd.node.protocol import generate_key, load_or_create_key
from uspd.node.server import NodeServer
from uspd.runner import PresenceRunner, RunnerOptions, SensorState, run_calibration

pytestmark = pytest.mark.usefixtures("socket_enabled")
RECOVERY_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    """`uspd node --simulate demo_room --fast` as a child process."""

    def __init__(self, key_file: Path, port: int) -> None:
        self.key_file, self.port = key_file, port
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "uspd.cli", "node", "--simulate", "demo_room",
               "--rate", "48000", "--mics", "2", "--fast", "--no-zeroconf",
               "--host", "127.0.0.1", "--port", str(self.port),
               "--key-file", str(self.key_file)]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening" in line, line

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def node_proc(tmp_path: Path) -> Iterator[tuple[NodeProcess, str]]:
    key, created = load_or_create_key(tmp_path / "node.key")
    assert created
    node = NodeProcess(tmp_path / "node.key", free_port())
    node.start()
    yield node, key
    node.stop()


class Watch:
    """Collects runner callbacks with wall-clock times."""

    def __init__(self) -> None:
        self.states: list[tuple[float, SensorState]] = []
        self.availability: list[tuple[float, bool, str | None]] = []
        self.changed = threading.Condition()

    def on_state(self, state: SensorState) -> None:
        with self.changed:
            self.states.append((time.monotonic(), state))
            self.changed.notify_all()

    def on_availability(self, ok: bool, message: str | None) -> None:
        with self.changed:
            self.availability.append((time.monotonic(), ok, message))
            self.changed.notify_all()

    def wait_for(self, predicate: object, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)  # type: ignore[arg-type]

    def states_after(self, t: float) -> int:
        return sum(1 for when, _ in self.states if when > t)


def start_runner(
    spec: SourceSpec, calibration: CalibrationResult, monkeypatch: pytest.MonkeyPatch
) -> tuple[PresenceRunner, Watch]:
    monkeypatch.setattr(runner_module, "BACKOFF_S", (0.2, 0.5, 1.0))
    watch = Watch()
    runner = PresenceRunner(
        spec, calibration, RunnerOptions(), watch.on_state, watch.on_availability, realtime=True
    )
    runner.start()
    assert watch.wait_for(lambda: len(watch.states) >= 20, 30), "no decisions from the node"
    return runner, watch


def spec_for(node: NodeProcess, key: str) -> SourceSpec:
    return SourceSpec("node", {"host": "127.0.0.1", "port": node.port, "key": key})


def test_node_killed_and_restarted(
    node_proc: tuple[NodeProcess, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    node, key = node_proc
    spec = spec_for(node, key)
    calibration = run_calibration(spec, RunnerOptions())  # runs on the node
    runner, watch = start_runner(spec, calibration, monkeypatch)
    try:
        node.kill()
        t_kill = time.monotonic()
        assert watch.wait_for(lambda: any(not ok for _, ok, _ in watch.availability), 15)
        node.start()  # same port, same key file
        assert watch.wait_for(
            lambda: watch.availability[-1][1] and watch.states_after(t_kill) > 10, RECOVERY_S
        ), watch.availability
        back = next(t for t, ok, _ in watch.availability if ok and t > t_kill)
        print(f"\nnode restart: back {back - t_kill:.1f} s after the kill")
    finally:
        runner.stop()


def test_network_frozen_then_resumed(
    node_proc: tuple[NodeProcess, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP the node (a cut that drops nothing): reads time out, then it recovers."""
    node, key = node_proc
    spec = spec_for(node, key)
    calibration = run_calibration(spec, RunnerOptions())
    runner, watch = start_runner(spec, calibration, monkeypatch)
    try:
        node.signal(signal.SIGSTOP)
        t_stop = time.monotonic()
        assert watch.wait_for(lambda: any(not ok for _, ok, _ in watch.availability), 20)
        time.sleep(2.0)  # a few reconnect attempts hit the frozen node
        node.signal(signal.SIGCONT)
        t_cont = time.monotonic()
        assert watch.wait_for(
            lambda: watch.availability[-1][1] and watch.states_after(t_cont) > 10, RECOVERY_S
        ), watch.availability
        print(f"\nfreeze: unavailable after {watch.availability[1][0] - t_stop:.1f} s, back "
              f"{watch.availability[-1][0] - t_cont:.1f} s after SIGCONT")  # fmt: skip
    finally:
        runner.stop()


class LoopSource:
    """Cheap 96 kHz 4-mic source (a carrier + noise loop) so the soak measures the link."""

    sample_rate = 96_000
    channels = 4

    def __init__(self) -> None:
        n = self.sample_rate
        t = np.arange(n) / n
        noise = 1e-4 * np.random.default_rng(0).standard_normal((n, 4))
        self.loop = (0.1 * np.sin(2 * np.pi * 40_000 * t)[:, None] + noise).astype(np.float32)
        self.pos = 0

    def read(self, frames: int) -> AudioBlock:
        idx = (self.pos + np.arange(frames)) % self.loop.shape[0]
        self.pos += frames
        return self.loop[idx]

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        pass

    def close(self) -> None:
        pass


def test_client_vanishing_does_not_stop_the_node() -> None:
    key = generate_key()
    server = NodeServer(LoopSource, key, host="127.0.0.1")
    server.start()
    try:
        for _ in range(3):
            client = NodeClient("127.0.0.1", server.port, key)
            client.read(4800)
            client._abort()  # no goodbye: the socket just goes away
        client = NodeClient("127.0.0.1", server.port, key)
        assert client.read(4800).shape[1] == 4
        client.close()
    finally:
        server.stop()


@pytest.mark.slow
def test_soak_one_hour_stream_time() -> None:
    """3600 s of 96 kHz 4-mic baseband through the link (reconnecting every 10 min of
    stream), faster than real time: resident memory must not grow."""
    key = generate_key()
    server = NodeServer(LoopSource, key, host="127.0.0.1")
    server.start()
    process = psutil.Process()
    read_s = 0.5
    per_session = round(600 / read_s)
    rss: list[float] = []
    received = 0
    try:
        for _session in range(6):
            client = NodeClient("127.0.0.1", server.port, key)
            client.set_emission(40_000.0, -6.0)
            for i in range(per_session):
                client.read(round(read_s * 96_000))
                if i == per_session // 2:
                    rss.append(process.memory_info().rss / 1e6)
            received += client.bytes_received
            client.close()
    finally:
        server.stop()
    start, end = rss[0], rss[-1]
    print(f"\nsoak: 3600 s stream, {received / 3600 / 1e3:.1f} kB/s, RSS per session "
          f"{', '.join(f'{x:.1f}' for x in rss)} MB")  # fmt: skip
    # Leaking one baseband block per read (16 kB × 7200) would add > 100 MB; malloc
    # arenas of the per-connection threads may add a step of ~10 MB once.
    assert end - start < 25.0, rss
    assert server.stats.sessions == 6
