"""`NodeClient`: a sensor node as an AudioSource (factory kind "node").

It delivers *baseband*: `read(frames)` asks the node to capture `frames` audio
samples and returns the complex baseband the node's FrontEnd made of them, shape
(n, channels) at `baseband_rate`; `Pipeline` / `DspChain` take complex blocks without
demodulating again. `delivers_baseband` says so to anyone who looks. Calibration needs
the full-band audio that never leaves the node, so `remote_calibrate` runs it there
(`uspd.dsp.calibration.calibrate` delegates to it).

Failures map to SourceError codes: unreachable → device_not_found, wrong key →
auth_failed, lost/timed-out link → disconnected, malformed or tampered frames →
corrupt. The runner reopens with backoff on any of them.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import struct
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import __version__
from ..audio.source import ERROR_CODES, SourceError
from ..dsp.calibration import CalibrationError, CalibrationResult
from ..dsp.frontend import baseband_rate
from . import protocol as p
from .codec import decode_baseband
from .keys import decode_key

ComplexArray = npt.NDArray[np.complex128]
DEFAULT_PORT = 47_621
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
"""No baseband for a READ within this long means the link (or node) is gone."""
CALIBRATE_TIMEOUT_S = 60.0
READ_CHUNK_S = 0.25
"""Longer reads are split so each baseband frame stays far below the frame limit
(8 mics × 1000 samples × 4 bytes = 32 kB); the node's FrontEnd is chunking-invariant."""


class NodeClient:
    """Secure connection to one node; implements AudioSource with baseband reads."""

    delivers_baseband = True

    def __init__(
        self,
        host: str,
        port: int,
        key: str,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
    ) -> None:
        """Connect and authenticate; SourceError(code) when that fails."""
        try:
            psk = decode_key(key)
        except ValueError as err:
            raise SourceError(f"sensor node key: {err}", "auth_failed") from err
        self.host, self.port = host, int(port)
        self.read_timeout = read_timeout
        self.health: dict[str, Any] = {}
        self._closed = False
        try:
            sock = socket.create_connection((host, self.port), timeout=connect_timeout)
        except OSError as err:
            raise SourceError(
                f"sensor node {host}:{port} is not reachable: {err}", "device_not_found"
            ) from err
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        hello = json.dumps({"client": "uspd", "version": __version__}).encode()
        try:
            self._channel, info_bytes = p.client_handshake(sock, psk, hello, connect_timeout)
            info = json.loads(info_bytes)
            if "error" in info:
                code = str(info["error"])
                raise SourceError(
                    f"sensor node: {info.get('message', code)}",
                    code if code in ERROR_CODES else "device_not_found",
                )
            self._sample_rate = int(info["sample_rate"])
            self._channels = int(info["channels"])
            self.baseband_rate = float(info["baseband_rate"])
            if self.baseband_rate != baseband_rate(self._sample_rate):
                raise ValueError(
                    f"node demodulates to {self.baseband_rate} Hz, this version expects "
                    f"{baseband_rate(self._sample_rate)} Hz: update uspd on the node"
                )
            self.node_name = str(info.get("node", ""))
            self.node_version = str(info.get("version", ""))
        except p.AuthError as err:
            sock.close()
            raise SourceError(
                f"sensor node {host}:{port} rejected the key (or holds another one)",
                "auth_failed",
            ) from err
        except p.LinkClosed as err:
            sock.close()
            raise SourceError(f"sensor node {host}:{port}: {err}", "disconnected") from err
        except (p.ProtocolError, ValueError, KeyError, TypeError) as err:
            sock.close()
            raise SourceError(
                f"sensor node {host}:{port}: bad handshake: {err}", "corrupt"
            ) from err
        except SourceError:
            sock.close()
            raise

    # ------------------------------------------------------------------ AudioSource
    @property
    def sample_rate(self) -> int:
        """The node's sound card rate (read sizes are in these frames)."""
        return self._sample_rate

    @property
    def channels(self) -> int:
        """Number of microphones on the node."""
        return self._channels

    @property
    def bytes_received(self) -> int:
        """Bytes received on the link (framing and tags included)."""
        return self._channel.bytes_received

    @property
    def bytes_sent(self) -> int:
        """Bytes sent on the link."""
        return self._channel.bytes_sent

    def read(self, frames: int) -> ComplexArray:
        """Baseband of the next `frames` audio samples the node captures (n, channels)."""
        chunk = max(1, round(READ_CHUNK_S * self._sample_rate))
        if frames <= chunk:
            return self._read(frames)
        parts = [self._read(min(chunk, frames - done)) for done in range(0, frames, chunk)]
        return np.concatenate(parts)

    def _read(self, frames: int) -> ComplexArray:
        self._send(p.READ, struct.pack("<I", frames))
        while True:
            ftype, payload = self._recv(self.read_timeout)
            if ftype == p.BASEBAND:
                try:
                    consumed, _carrier, block = decode_baseband(payload)
                except p.ProtocolError as err:
                    self._abort()
                    raise SourceError(f"sensor node sent a bad frame: {err}", "corrupt") from err
                if consumed != frames or block.shape[1] != self._channels:
                    self._abort()
                    raise SourceError("sensor node answered a different request", "corrupt")
                return block
            self._other(ftype, payload)

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        """Forward to the node; applied before its next capture."""
        carrier = math.nan if carrier_hz is None else float(carrier_hz)
        self._send(p.EMISSION, struct.pack("<dd", carrier, float(level_dbfs)))

    def close(self) -> None:
        """Say goodbye (best effort) and close; later reads raise SourceError."""
        if self._closed:
            return
        with contextlib.suppress(p.LinkClosed, p.ProtocolError):
            self._channel.send(p.BYE, b"", timeout=1.0)
        self._abort()

    # ------------------------------------------------------------------ calibration
    def remote_calibrate(self, **options: Any) -> CalibrationResult:
        """Run `calibrate` on the node (it has the full-band audio); CalibrationError."""
        self._send(p.CALIBRATE, json.dumps(options).encode())
        while True:
            ftype, payload = self._recv(CALIBRATE_TIMEOUT_S)
            if ftype == p.CALIBRATION:
                try:
                    reply = json.loads(payload)
                    if reply.get("ok"):
                        return CalibrationResult.from_dict(reply["result"])
                    error = CalibrationError(str(reply["message"]), str(reply["code"]))
                except (ValueError, KeyError, TypeError, AttributeError) as err:
                    self._abort()
                    raise SourceError("sensor node sent a bad calibration", "corrupt") from err
                raise error
            self._other(ftype, payload)

    # ------------------------------------------------------------------ internals
    def _other(self, ftype: int, payload: bytes) -> None:
        """HEALTH is stored; ERROR becomes a SourceError; anything else is a violation."""
        if ftype == p.HEALTH:
            with contextlib.suppress(ValueError):
                data = json.loads(payload)
                if isinstance(data, dict):
                    self.health = data
            return
        self._abort()
        if ftype == p.ERROR:
            try:
                err = json.loads(payload)
                code, message = str(err["code"]), str(err["message"])
            except (ValueError, KeyError, TypeError):
                code, message = "corrupt", "unreadable error"
            raise SourceError(f"sensor node: {message}", code if code in ERROR_CODES else "corrupt")
        raise SourceError(f"sensor node sent unexpected frame type {ftype}", "corrupt")

    def _send(self, ftype: int, payload: bytes) -> None:
        if self._closed:
            raise SourceError("sensor node connection is closed", "disconnected")
        try:
            self._channel.send(ftype, payload, timeout=self.read_timeout)
        except p.LinkClosed as err:
            self._abort()
            raise SourceError(f"sensor node link lost: {err}", "disconnected") from err

    def _recv(self, timeout: float) -> tuple[int, bytes]:
        if self._closed:
            raise SourceError("sensor node connection is closed", "disconnected")
        try:
            return self._channel.recv(timeout)
        except p.LinkClosed as err:
            self._abort()
            raise SourceError(f"sensor node link lost: {err}", "disconnected") from err
        except p.ProtocolError as err:
            self._abort()
            raise SourceError(f"sensor node sent a bad frame: {err}", "corrupt") from err

    def _abort(self) -> None:
        self._closed = True
        self._channel.close()
