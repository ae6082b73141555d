"""`NodeServer`: emission + capture + FrontEnd on the node; only baseband leaves it.

One authenticated Home Assistant client at a time: a newly authenticated client
replaces the previous session (HA reconnecting after a network cut while the old TCP
connection is still half-open), an unauthenticated one never disturbs it. Each session
opens the AudioSource when it starts and closes it (emitter silent) when it ends, so a
node nobody listens to does not emit. The client drives the stream: READ(frames) makes
the node capture exactly that many frames, demodulate them and answer with the
baseband, so emission changes land at the same sample as in-process and both paths
decide identically. Calibration needs the full-band audio, so it runs here and only
its result (numbers) goes back. Any malformed frame, timeout or protocol violation
ends that connection only; the server keeps accepting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .. import __version__
from ..audio.source import AudioSource, SourceError
from ..dsp.calibration import Band, CalibrationError, calibrate
from ..dsp.frontend import FrontEnd, baseband_rate, check_carrier
from ..load import LoadMeter
from . import protocol as p
from .codec import encode_baseband
from .keys import decode_key

_LOGGER = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 30.0
"""A session with no request for this long is closed (its client is gone)."""
MAX_READ_S = 0.5
"""Largest single READ, seconds of audio (its baseband must fit one frame: 8 mics ×
2000 samples × 4 bytes = 64 kB would not, so clients send ≤ 0.25 s)."""
MAX_CONNECTIONS = 16
"""Connections handled at once (handshakes included); more are closed on accept."""
HEALTH_EVERY_S = 1.0
"""Health frames are interleaved this often (stream time)."""
_READ = struct.Struct("<I")
_EMISSION = struct.Struct("<dd")
SourceFactory = Callable[[], AudioSource]


def default_carrier(sample_rate: int) -> float:
    """Demodulation carrier before any client asks for one: 40 kHz, or the low band."""
    return 40_000.0 if sample_rate >= 88_200 else 20_000.0


@dataclass
class NodeStats:
    """Counters reported in health frames and by `uspd node` (JSON-able)."""

    sessions: int = 0
    auth_failures: int = 0
    protocol_errors: int = 0
    source_errors: int = 0
    bytes_sent: int = 0
    frames_captured: int = 0
    last_error: str | None = None
    processing_load_percent: float | None = None
    """The latest session's demodulation load, % of one core (what HEALTH reports)."""
    extra: dict[str, Any] = field(default_factory=dict)


class NodeServer:
    """TCP server for one sensor node (thread per connection, one active session)."""

    def __init__(
        self,
        source_factory: SourceFactory,
        key: str,
        *,
        host: str = "0.0.0.0",  # a node serves its LAN
        port: int = 0,
        name: str = "uspd-node",
        idle_timeout: float = IDLE_TIMEOUT_S,
        state_file: Path | None = None,
    ) -> None:
        """`state_file` keeps the last carrier across node restarts: a client whose
        emission starts switched off still gets baseband at the calibrated carrier."""
        self._factory = source_factory
        self._psk = decode_key(key)
        self.name = name
        self.idle_timeout = idle_timeout
        self.stats = NodeStats()
        # create_server sets SO_REUSEADDR: a restarted node gets its port back at once.
        self._sock = socket.create_server((host, port), backlog=8)
        self._sock.settimeout(0.5)  # accept() wakes up to notice stop()
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active: _Session | None = None
        self._session_free = threading.Lock()  # held while a session owns the source
        self._thread: threading.Thread | None = None
        self._state_file = state_file
        self._last_carrier: float | None = self._load_carrier()
        self._conns: dict[threading.Thread, socket.socket] = {}

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Accept connections in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="uspd-node", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        """Accept until `stop`; each connection gets its own thread."""
        while not self._stop.is_set():
            try:
                conn, addr = self._sock.accept()
            except TimeoutError:
                continue
            except Exception:  # closed by stop(), or out of file descriptors
                if self._stop.is_set():
                    break
                _LOGGER.exception("node: accept failed")
                self._stop.wait(1.0)
                continue
            thread = threading.Thread(
                target=self._handle, args=(conn, addr), name=f"uspd-node-{addr}", daemon=True
            )
            with self._lock:
                self._conns = {t: c for t, c in self._conns.items() if t.is_alive()}
                busy = len(self._conns) >= MAX_CONNECTIONS
                if not busy:
                    self._conns[thread] = conn
            if busy:
                _LOGGER.warning("node: too many connections, refusing %s", addr)
                conn.close()
                continue
            thread.start()

    def stop(self) -> None:
        """Stop accepting, end the active session (emitter off, source closed)."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            active = self._active
        if active is not None:
            active.channel.close()
        if self._thread is not None:
            self._thread.join(5.0)
        with self._lock:
            conns = dict(self._conns)
        for conn in conns.values():  # wakes handshakes and sessions blocked in recv
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in conns:
            thread.join(5.0)
        # Wait for the session to release the source.
        if self._session_free.acquire(timeout=5.0):
            self._session_free.release()

    # ------------------------------------------------------------------ state
    def _load_carrier(self) -> float | None:
        if self._state_file is None:
            return None
        try:
            carrier = float(json.loads(self._state_file.read_text())["carrier_hz"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return carrier if math.isfinite(carrier) else None

    def remember_carrier(self, carrier: float) -> None:
        """The carrier the next session demodulates at until a client sets one."""
        if carrier == self._last_carrier:
            return
        self._last_carrier = carrier
        if self._state_file is not None:
            try:
                self._state_file.write_text(json.dumps({"carrier_hz": carrier}))
            except OSError as err:
                _LOGGER.warning("node: cannot save %s: %s", self._state_file, err)

    # ------------------------------------------------------------------ sessions
    def _handle(self, conn: socket.socket, addr: Any) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            handshake = p.ResponderHandshake(conn, self._psk)
            try:
                handshake.receive()
            except p.AuthError:
                self.stats.auth_failures += 1
                _LOGGER.warning("node: rejected a client from %s: wrong key", addr)
                handshake.reject()
                return
            self._run_session(handshake, addr)
        except (p.ProtocolError, p.LinkClosed) as err:
            self.stats.protocol_errors += isinstance(err, p.ProtocolError)
            self.stats.last_error = str(err)
            _LOGGER.info("node: connection from %s dropped: %s", addr, err)
        except Exception:
            _LOGGER.exception("node: unexpected error serving %s", addr)
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _run_session(self, handshake: p.ResponderHandshake, addr: Any) -> None:
        # Authenticated: replace the previous session, then take the source.
        with self._lock:
            previous = self._active
        if previous is not None:
            _LOGGER.info("node: new client %s replaces the previous session", addr)
            previous.channel.close()
        if not self._session_free.acquire(timeout=10.0):
            raise p.LinkClosed("the previous session did not release the source")
        try:
            try:
                source = self._factory()
            except SourceError as err:
                self.stats.source_errors += 1
                failure = {"error": err.code, "message": str(err)}
                handshake.reply(json.dumps(failure).encode()).close()
                return
            try:
                info: dict[str, Any] = {
                    "node": self.name,
                    "version": __version__,
                    "sample_rate": source.sample_rate,
                    "channels": source.channels,
                    "baseband_rate": baseband_rate(source.sample_rate),
                }
                channel = handshake.reply(json.dumps(info).encode())
                session = _Session(self, channel, source)
                with self._lock:
                    self._active = session
                self.stats.sessions += 1
                _LOGGER.info("node: session with %s started", addr)
                try:
                    session.run()
                finally:
                    with self._lock:
                        if self._active is session:
                            self._active = None
                    self.stats.bytes_sent += channel.bytes_sent
                    channel.close()
            finally:
                with contextlib.suppress(SourceError):
                    source.set_emission(None, 0.0)
                source.close()
        finally:
            self._session_free.release()


class _Session:
    """One authenticated client: request loop over the secure channel."""

    def __init__(self, server: NodeServer, channel: p.SecureChannel, source: AudioSource) -> None:
        self.server = server
        self.channel = channel
        self.source = source
        fs = source.sample_rate
        self.carrier = server._last_carrier or default_carrier(fs)
        self.frontend: FrontEnd | None = None
        self._since_health = 0
        self._health_frames = round(HEALTH_EVERY_S * fs)
        self._max_read = round(MAX_READ_S * fs)
        # The node's own share of a core (demodulation and encoding): a Raspberry Pi
        # Zero's margin, shown in Home Assistant's diagnostics through HEALTH.
        self.load = LoadMeter()

    def run(self) -> None:
        """Serve requests until BYE, idle timeout, error or replacement."""
        while True:
            ftype, payload = self.channel.recv(self.server.idle_timeout)
            if ftype == p.BYE:
                return
            try:
                if ftype == p.READ:
                    self._read(payload)
                elif ftype == p.EMISSION:
                    self._emission(payload)
                elif ftype == p.CALIBRATE:
                    self._calibrate(payload)
                else:
                    raise p.ProtocolError(f"frame type {ftype} is not a request")
            except SourceError as err:
                self.server.stats.source_errors += 1
                self.server.stats.last_error = str(err)
                body = json.dumps({"code": err.code, "message": str(err)}).encode()
                self.channel.send(p.ERROR, body)
                return

    def _read(self, payload: bytes) -> None:
        if len(payload) != _READ.size:
            raise p.ProtocolError("bad READ request")
        (frames,) = _READ.unpack(payload)
        if not 0 < frames <= self._max_read:
            raise p.ProtocolError(f"READ of {frames} frames outside 1..{self._max_read}")
        if self.frontend is None:
            self.frontend = FrontEnd(self.source.sample_rate, self.carrier, self.source.channels)
        block = self.source.read(frames)
        cpu_start = time.thread_time()
        baseband = self.frontend.process(block)
        encoded = encode_baseband(frames, self.carrier, baseband)
        self.load.add(frames / self.source.sample_rate, time.thread_time() - cpu_start)
        self.server.stats.frames_captured += frames
        self._since_health += frames
        if self._since_health >= self._health_frames:
            self._since_health = 0
            self.channel.send(p.HEALTH, json.dumps(self.health()).encode())
        self.channel.send(p.BASEBAND, encoded)

    def health(self) -> dict[str, Any]:
        """Health counters (the source's own, e.g. xruns, when it has them)."""
        data: dict[str, Any] = {
            "carrier_hz": self.carrier,
            "frames_captured": self.server.stats.frames_captured,
            "time": time.time(),
        }
        source_health = getattr(self.source, "health", None)
        if callable(source_health):
            data["source"] = source_health()
        if self.frontend is not None:
            data["carrier_dbfs"] = [round(float(x), 1) for x in self.frontend.carrier_level_dbfs]
        load = self.load.percent
        data["processing_load_percent"] = None if load is None else round(load, 2)
        self.server.stats.processing_load_percent = data["processing_load_percent"]
        return data

    def _emission(self, payload: bytes) -> None:
        if len(payload) != _EMISSION.size:
            raise p.ProtocolError("bad EMISSION request")
        carrier, level = _EMISSION.unpack(payload)
        if not math.isfinite(level) or not -200.0 <= level <= 0.0:
            raise p.ProtocolError(f"emission level {level} outside -200..0 dBFS")
        if math.isnan(carrier):
            self.source.set_emission(None, level)
            return
        try:
            check_carrier(carrier, self.source.sample_rate)
        except ValueError as err:
            raise p.ProtocolError(str(err)) from err
        if carrier != self.carrier:
            # A new carrier starts a new demodulator: what a fresh in-process chain does.
            self.carrier = carrier
            self.frontend = None
        self.server.remember_carrier(carrier)
        self.source.set_emission(carrier, level)

    def _calibrate(self, payload: bytes) -> None:
        if len(payload) > 4096:
            raise p.ProtocolError("calibration request too large")
        try:
            options = json.loads(payload)
            band = str(options.get("band", "auto"))
            if band not in ("auto", "high", "low"):
                raise ValueError(f"band {band!r}")
            spl = options.get("spl_at_full_scale_db")
            max_level = float(options.get("max_level_dbfs", -6.0))
            target = float(options.get("target_snr_db", 70.0))
        except (ValueError, AttributeError, TypeError) as err:
            raise p.ProtocolError(f"bad CALIBRATE request: {err}") from err
        try:
            result = calibrate(
                self.source,
                max_level_dbfs=max_level,
                band=cast(Band, band),
                target_snr_db=target,
                spl_at_full_scale_db=None if spl is None else float(spl),
            )
        except CalibrationError as err:
            reply = {"ok": False, "code": err.code, "message": str(err)}
        else:
            reply = {"ok": True, "result": result.to_dict()}
            self.carrier = result.carrier_hz
            self.server.remember_carrier(result.carrier_hz)
        self.frontend = None  # the stream restarts after calibration, as in-process
        self.channel.send(p.CALIBRATION, json.dumps(reply).encode(), timeout=30.0)
