"""The node link: framing, the Noise handshake, and the encrypted channel.

Crypto is the Noise protocol framework as implemented by `noiseprotocol` (on
`cryptography`), the same construction as ESPHome's native API:
Noise_NNpsk0_25519_ChaChaPoly_SHA256 with the prologue b"uspd/1". Both ends prove
knowledge of the 32-byte pre-shared key in the two handshake messages (psk0 mixes it in
before the first payload), so a wrong key fails before any audio-derived data flows;
ephemeral X25519 keys give forward secrecy.

Every frame: MAGIC (4) | version (1) | type (1) | length (4) | seq (8), big-endian,
then `length` bytes. After the handshake the body is ChaCha20-Poly1305 ciphertext whose
associated data is the header, and whose nonce is Noise's implicit counter; `seq` must
equal that counter, so replayed, dropped or re-ordered frames are rejected before
decryption, and a tampered header or body fails the tag. Lengths are limited to
MAX_FRAME (Noise's 65535-byte message limit) and every read has a deadline.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from noise.connection import NoiseConnection

# The key helpers moved to .keys (no noiseprotocol needed); still importable from here.
from .keys import KEY_BYTES, decode_key, generate_key, load_or_create_key  # noqa: F401

PROTOCOL_NAME = b"Noise_NNpsk0_25519_ChaChaPoly_SHA256"
PROLOGUE = b"uspd/1"
MAGIC = b"USPD"
VERSION = 1
HEADER = struct.Struct(">4sBBIQ")
MAX_FRAME = 65535
"""Largest frame body (Noise's message limit, including the 16-byte tag)."""
HANDSHAKE_TIMEOUT_S = 5.0

# Frame types. 1-15: cleartext (handshake); 16+: encrypted.
HANDSHAKE_INIT = 1
HANDSHAKE_REPLY = 2
AUTH_FAILED = 3
READ = 16  # client → node: u32 audio frames to capture
EMISSION = 17  # client → node: f64 carrier (NaN = off), f64 level dBFS
CALIBRATE = 18  # client → node: JSON calibration options
BYE = 19  # either way: orderly close
BASEBAND = 32  # node → client: quantised complex baseband (see codec)
CALIBRATION = 33  # node → client: JSON {"ok": true, "result": {...}} or error
ERROR = 34  # node → client: JSON {"code": SourceError code, "message": str}
HEALTH = 35  # node → client: JSON health counters
KNOWN_TYPES = frozenset(
    {
        HANDSHAKE_INIT,
        HANDSHAKE_REPLY,
        AUTH_FAILED,
        READ,
        EMISSION,
        CALIBRATE,
        BYE,
        BASEBAND,
        CALIBRATION,
        ERROR,
        HEALTH,
    }
)


class ProtocolError(Exception):
    """The peer sent something this version does not accept (drop the connection)."""


class AuthError(ProtocolError):
    """The handshake failed: the peers do not share the key."""


class LinkClosed(Exception):
    """The peer closed the connection or did not answer within the deadline."""


@dataclass(frozen=True)
class Header:
    """A parsed frame header."""

    type: int
    length: int
    seq: int

    def pack(self) -> bytes:
        """Wire form."""
        return HEADER.pack(MAGIC, VERSION, self.type, self.length, self.seq)


def parse_header(data: bytes) -> Header:
    """Validate a frame header; ProtocolError on anything unexpected."""
    if len(data) != HEADER.size:
        raise ProtocolError(f"short header ({len(data)} bytes)")
    magic, version, ftype, length, seq = HEADER.unpack(data)
    if magic != MAGIC:
        raise ProtocolError("bad magic: not a uspd node link")
    if version != VERSION:
        raise ProtocolError(f"unsupported protocol version {version} (this end speaks {VERSION})")
    if ftype not in KNOWN_TYPES:
        raise ProtocolError(f"unknown frame type {ftype}")
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes exceeds the {MAX_FRAME}-byte limit")
    return Header(ftype, length, seq)


# ---------------------------------------------------------------------- transport
def recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    """Exactly n bytes before `deadline` (time.monotonic); LinkClosed on EOF/timeout."""
    parts: list[bytes] = []
    remaining = n
    while remaining:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LinkClosed("timed out waiting for the peer")
        try:
            sock.settimeout(left)
            chunk = sock.recv(min(remaining, 1 << 16))
        except TimeoutError as err:
            raise LinkClosed("timed out waiting for the peer") from err
        except OSError as err:
            raise LinkClosed(f"connection lost: {err}") from err
        if not chunk:
            raise LinkClosed("the peer closed the connection")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def recv_frame(sock: socket.socket, timeout: float) -> tuple[Header, bytes]:
    """One frame (header validated, body read in full) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    header = parse_header(recv_exact(sock, HEADER.size, deadline))
    return header, recv_exact(sock, header.length, deadline)


def send_frame(sock: socket.socket, ftype: int, body: bytes, seq: int, timeout: float) -> None:
    """Write one frame; LinkClosed if the peer is gone or does not drain within `timeout`."""
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"refusing to send a {len(body)}-byte frame")
    try:
        sock.settimeout(timeout)
        sock.sendall(Header(ftype, len(body), seq).pack() + body)
    except OSError as err:  # includes TimeoutError
        raise LinkClosed(f"connection lost: {err}") from err


def _noise(psk: bytes, initiator: bool) -> NoiseConnection:
    conn = NoiseConnection.from_name(PROTOCOL_NAME)
    conn.set_psks(psk)
    conn.set_prologue(PROLOGUE)
    if initiator:
        conn.set_as_initiator()
    else:
        conn.set_as_responder()
    conn.start_handshake()
    return conn


class SecureChannel:
    """Encrypted, sequenced frames over a connected socket (after the handshake)."""

    def __init__(self, sock: socket.socket, noise: NoiseConnection) -> None:
        self.sock = sock
        self._noise = noise
        self._send_seq = 0
        self._recv_seq = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def send(self, ftype: int, payload: bytes, timeout: float = 10.0) -> None:
        """Encrypt `payload` with the header as associated data and send it."""
        length = len(payload) + 16
        if length > MAX_FRAME:
            raise ProtocolError(f"payload of {len(payload)} bytes exceeds the frame limit")
        header = Header(ftype, length, self._send_seq)
        cipher: Any = self._noise.noise_protocol.cipher_state_encrypt
        body = bytes(cipher.encrypt_with_ad(header.pack(), payload))
        send_frame(self.sock, ftype, body, self._send_seq, timeout)
        self._send_seq += 1
        self.bytes_sent += HEADER.size + len(body)

    def recv(self, timeout: float) -> tuple[int, bytes]:
        """Next frame's (type, plaintext); ProtocolError on replay, reorder or tampering."""
        header, body = recv_frame(self.sock, timeout)
        self.bytes_received += HEADER.size + len(body)
        return header.type, self.open(header, body)

    def open(self, header: Header, body: bytes) -> bytes:
        """Check sequence and decrypt one received frame."""
        if header.type < READ:
            raise ProtocolError(f"cleartext frame type {header.type} after the handshake")
        if header.seq != self._recv_seq:
            raise ProtocolError(
                f"frame sequence {header.seq}, expected {self._recv_seq}: replayed or re-ordered"
            )
        cipher: Any = self._noise.noise_protocol.cipher_state_decrypt
        try:
            plain = bytes(cipher.decrypt_with_ad(header.pack(), body))
        except Exception as err:  # InvalidTag and friends from the AEAD
            raise ProtocolError("frame failed authentication (tampered or wrong key)") from err
        self._recv_seq += 1
        return plain

    def close(self) -> None:
        """Close the socket (idempotent)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def client_handshake(
    sock: socket.socket, psk: bytes, hello: bytes, timeout: float = HANDSHAKE_TIMEOUT_S
) -> tuple[SecureChannel, bytes]:
    """Initiator side: returns the channel and the node's handshake payload.

    AuthError when the node rejects our key or answers with a different one.
    """
    noise = _noise(psk, initiator=True)
    send_frame(sock, HANDSHAKE_INIT, bytes(noise.write_message(hello)), 0, timeout)
    header, body = recv_frame(sock, timeout)
    if header.type == AUTH_FAILED:
        raise AuthError("the node rejected the key")
    if header.type != HANDSHAKE_REPLY:
        raise ProtocolError(f"expected the handshake reply, got frame type {header.type}")
    try:
        payload = bytes(noise.read_message(body))
    except Exception as err:  # the AEAD tag (or the message format) did not verify
        raise AuthError("the node does not hold the same key") from err
    if not noise.handshake_finished:
        raise ProtocolError("handshake did not complete")
    return SecureChannel(sock, noise), payload


class ResponderHandshake:
    """Responder side in two steps, so the node can act between authenticating the
    client (first message) and answering it (e.g. open the sound card for the info)."""

    def __init__(self, sock: socket.socket, psk: bytes) -> None:
        self.sock = sock
        self._noise = _noise(psk, initiator=False)

    def receive(self, timeout: float = HANDSHAKE_TIMEOUT_S) -> bytes:
        """Read and authenticate the client's first message; AuthError on a wrong key."""
        header, body = recv_frame(self.sock, timeout)
        if header.type != HANDSHAKE_INIT:
            raise ProtocolError(f"expected a handshake, got frame type {header.type}")
        try:
            return bytes(self._noise.read_message(body))
        except Exception as err:
            raise AuthError("client key does not match") from err

    def reject(self, timeout: float = HANDSHAKE_TIMEOUT_S) -> None:
        """Tell the client its key was wrong (cleartext: it has no key to check it by)."""
        with contextlib.suppress(LinkClosed, ProtocolError):
            send_frame(self.sock, AUTH_FAILED, b"", 0, timeout)

    def reply(self, payload: bytes, timeout: float = HANDSHAKE_TIMEOUT_S) -> SecureChannel:
        """Send the second message (payload encrypted) and return the channel."""
        send_frame(
            self.sock, HANDSHAKE_REPLY, bytes(self._noise.write_message(payload)), 0, timeout
        )
        if not self._noise.handshake_finished:
            raise ProtocolError("handshake did not complete")
        return SecureChannel(self.sock, self._noise)
