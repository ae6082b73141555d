"""Security of the node link: authentication, tampering, replay, garbage (fuzzed)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uspd.audio.source import AudioBlock, AudioSource, SourceError
from uspd.node import protocol as p
from uspd.node.client import NodeClient
from uspd.node.codec import decode_baseband, encode_baseband
from uspd.node.server import NodeServer

pytestmark = pytest.mark.usefixtures("socket_enabled")
KEY = p.generate_key()


class ToneSource:
    """A cheap deterministic source: a 40 kHz carrier plus a little noise, 2 mics."""

    sample_rate = 96_000
    channels = 2

    def __init__(self) -> None:
        self.rng = np.random.default_rng(1)
        self.pos = 0
        self.reads = 0

    def read(self, frames: int) -> AudioBlock:
        self.reads += 1
        t = (self.pos + np.arange(frames)) / self.sample_rate
        self.pos += frames
        x = 0.1 * np.sin(2 * np.pi * 40_000 * t)[:, None] + 1e-4 * self.rng.standard_normal(
            (frames, self.channels)
        )
        return x.astype(np.float32)

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        pass

    def close(self) -> None:
        pass


class Node:
    """A NodeServer on loopback that counts the sources it opened."""

    def __init__(self) -> None:
        self.opened: list[ToneSource] = []
        self.server = NodeServer(self._factory, KEY, host="127.0.0.1")
        self.server.start()

    def _factory(self) -> AudioSource:
        self.opened.append(ToneSource())
        return self.opened[-1]

    def client(self) -> NodeClient:
        return NodeClient("127.0.0.1", self.server.port, KEY)

    def healthy(self) -> None:
        """A legitimate client still gets baseband."""
        client = self.client()
        try:
            client.set_emission(40_000.0, -6.0)
            assert [client.read(4800).shape for _ in range(2)][-1] == (200, 2)
        finally:
            client.close()


@pytest.fixture
def node(socket_enabled: None) -> Iterator[Node]:
    n = Node()
    yield n
    n.server.stop()


# ------------------------------------------------------------------ authentication
def test_wrong_key_rejected_before_any_data(node: Node) -> None:
    with pytest.raises(SourceError) as info:
        NodeClient("127.0.0.1", node.server.port, p.generate_key())
    assert info.value.code == "auth_failed"
    assert node.opened == []  # the sound card was never even opened
    assert node.server.stats.frames_captured == 0
    assert node.server.stats.auth_failures == 1
    node.healthy()


@pytest.mark.parametrize("key", ["", "not a key", "c2hvcnQ="])
def test_missing_or_malformed_key(node: Node, key: str) -> None:
    with pytest.raises(SourceError) as info:
        NodeClient("127.0.0.1", node.server.port, key)
    assert info.value.code == "auth_failed"
    assert node.opened == []


def test_client_rejects_impostor_node(node: Node) -> None:
    """A node with another key cannot pose as ours: the client refuses its reply."""
    impostor = NodeServer(ToneSource, p.generate_key(), host="127.0.0.1")
    impostor.start()
    try:
        with pytest.raises(SourceError) as info:
            NodeClient("127.0.0.1", impostor.port, KEY)
        assert info.value.code == "auth_failed"
    finally:
        impostor.stop()


def test_no_handshake_no_data(node: Node) -> None:
    """Skipping the handshake (straight to an encrypted-type frame) gets nothing back."""
    with socket.create_connection(("127.0.0.1", node.server.port), timeout=5) as raw:
        raw.sendall(p.Header(p.READ, 4, 0).pack() + struct.pack("<I", 4800))
        raw.settimeout(5)
        assert raw.recv(4096) == b""
    assert node.opened == []
    node.healthy()


def test_key_file_is_private(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "sub" / "node.key"
    key, created = p.load_or_create_key(path)
    assert created and len(p.decode_key(key)) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert p.load_or_create_key(path) == (key, False)


# ------------------------------------------------------------------ tamper / replay
def channel_pair() -> tuple[p.SecureChannel, p.SecureChannel, socket.socket]:
    """(sender, receiver, raw end of the sender's socket) after a real handshake."""
    a, b = socket.socketpair()
    psk = p.decode_key(KEY)
    out: dict[str, p.SecureChannel] = {}

    def respond() -> None:
        hs = p.ResponderHandshake(b, psk)
        hs.receive()
        out["r"] = hs.reply(b"{}")

    thread = threading.Thread(target=respond)
    thread.start()
    sender, _ = p.client_handshake(a, psk, b"{}")
    thread.join(5)
    return sender, out["r"], b


def frames_sent(
    sender: p.SecureChannel, raw: socket.socket, n: int
) -> list[tuple[p.Header, bytes]]:
    frames = []
    for i in range(n):
        sender.send(p.READ, struct.pack("<I", 100 + i))
        frames.append(p.recv_frame(raw, 5))
    return frames


def test_in_order_frames_accepted() -> None:
    sender, receiver, raw = channel_pair()
    for i, (header, body) in enumerate(frames_sent(sender, raw, 3)):
        assert receiver.open(header, body) == struct.pack("<I", 100 + i)


@pytest.mark.parametrize("position", [0, 5, -1])
def test_tampered_body_rejected(position: int) -> None:
    sender, receiver, raw = channel_pair()
    [(header, body)] = frames_sent(sender, raw, 1)
    bad = bytearray(body)
    bad[position] ^= 0x01
    with pytest.raises(p.ProtocolError, match="authentication"):
        receiver.open(header, bytes(bad))


def test_tampered_header_rejected() -> None:
    """The header is associated data: changing the frame type breaks the tag."""
    sender, receiver, raw = channel_pair()
    [(header, body)] = frames_sent(sender, raw, 1)
    with pytest.raises(p.ProtocolError, match="authentication"):
        receiver.open(p.Header(p.EMISSION, header.length, header.seq), body)


def test_replayed_frame_rejected() -> None:
    sender, receiver, raw = channel_pair()
    first, second = frames_sent(sender, raw, 2)
    receiver.open(*first)
    with pytest.raises(p.ProtocolError, match="replayed"):
        receiver.open(*first)
    # Forging the sequence number does not help: the nonce is the counter.
    forged = p.Header(first[0].type, first[0].length, 1)
    with pytest.raises(p.ProtocolError, match="authentication"):
        receiver.open(forged, first[1])
    receiver.open(*second)


def test_reordered_frames_rejected() -> None:
    sender, receiver, raw = channel_pair()
    _first, second = frames_sent(sender, raw, 2)
    with pytest.raises(p.ProtocolError, match="re-ordered"):
        receiver.open(*second)


class FlippingProxy:
    """Loopback man-in-the-middle that flips one byte node→client after `after` bytes."""

    def __init__(self, port: int, after: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = port
        self.after = after
        self.sockets: list[socket.socket] = [self.listener]
        self.threads = [threading.Thread(target=self._run)]
        self.threads[0].start()

    def _run(self) -> None:
        self.listener.settimeout(10)
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", self.target))
        self.sockets += [client, upstream]
        back = threading.Thread(target=self._pump, args=(client, upstream, False))
        self.threads.append(back)
        back.start()
        self._pump(upstream, client, True)

    def _pump(self, src: socket.socket, dst: socket.socket, flip: bool) -> None:
        seen = 0
        try:
            while data := src.recv(65536):
                if flip and seen <= self.after < seen + len(data):
                    buf = bytearray(data)
                    buf[self.after - seen] ^= 0x80
                    data = bytes(buf)
                seen += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        for t in list(self.threads):
            t.join(5)


def test_tampered_stream_is_corrupt_and_node_survives(node: Node) -> None:
    """A byte flipped in flight: the client drops the link (corrupt), the node serves on."""
    proxy = FlippingProxy(node.server.port, after=5_000)  # inside the 2nd baseband frame
    try:
        client = NodeClient("127.0.0.1", proxy.port, KEY)
        client.set_emission(40_000.0, -6.0)
        with pytest.raises(SourceError) as info:
            for _ in range(5):
                client.read(4800)
        assert info.value.code == "corrupt"
    finally:
        proxy.close()
    node.healthy()


# ------------------------------------------------------------------ fuzzing
def _parse_all(data: bytes, ftype: int) -> None:
    """Header parser, baseband decoder and frame opener on `data`: ProtocolError or success."""
    with contextlib.suppress(p.ProtocolError):
        p.parse_header(data[: p.HEADER.size].ljust(p.HEADER.size, b"\0"))
    with contextlib.suppress(p.ProtocolError):
        decode_baseband(data)
    with contextlib.suppress(p.ProtocolError):
        _receiver().open(p.Header(ftype, len(data), 0), data)


@settings(max_examples=2_500, derandomize=True, deadline=None, database=None)
@given(data=st.binary(max_size=96), ftype=st.sampled_from(sorted(p.KNOWN_TYPES)))
def test_fuzz_parsers_in_process(data: bytes, ftype: int) -> None:
    """10,000 cases: each example plus three variants (valid header prefix, a valid
    baseband head with random tail, the bytes reversed) through every parser."""
    _parse_all(data, ftype)
    _parse_all(p.Header(ftype, len(data), 0).pack() + data, ftype)
    _parse_all(struct.pack("<IHBd", 4800, len(data) // 8, 1 + len(data) % 8, 4e4) + data, ftype)
    _parse_all(data[::-1], ftype)


_RECEIVER: list[p.SecureChannel] = []


def _receiver() -> p.SecureChannel:
    """A receiving channel in transport state (its socket is never used by `open`)."""
    if not _RECEIVER:
        _sender, receiver, _raw = channel_pair()
        _RECEIVER.append(receiver)
    return _RECEIVER[0]


def test_valid_header_prefixes_fuzz() -> None:
    """Structured garbage: valid magic/version with random type, length and sequence."""
    rng = np.random.default_rng(3)
    for _ in range(2000):
        raw = p.MAGIC + bytes([p.VERSION, int(rng.integers(0, 256))])
        raw += struct.pack(">IQ", int(rng.integers(0, 2**32)), int(rng.integers(0, 2**63)))
        try:
            header = p.parse_header(raw)
        except p.ProtocolError:
            continue
        assert header.length <= p.MAX_FRAME


def test_codec_round_trip() -> None:
    rng = np.random.default_rng(0)
    block = 0.3 * np.exp(1j * rng.uniform(0, 6, (200, 4))) + 1e-5 * rng.standard_normal((200, 4))
    frames, carrier, out = decode_baseband(encode_baseband(4800, 40_000.0, block))
    assert (frames, carrier) == (4800, 40_000.0)
    assert np.max(np.abs(out - block)) < 1e-4 * np.max(np.abs(block - block.mean(axis=0)))


def _garbage() -> st.SearchStrategy[bytes]:
    header = st.builds(
        lambda t, n, s: p.Header(t, n, s).pack(),
        st.integers(0, 255),
        st.integers(0, 70_000),
        st.integers(0, 3),
    )
    return st.one_of(
        st.binary(max_size=300), st.tuples(header, st.binary(max_size=200)).map(b"".join)
    )


def test_fuzz_node_over_socket(node: Node) -> None:
    """300 garbage connections at the node's port; it stays up and serves a real client."""

    @settings(max_examples=300, derandomize=True, deadline=None, database=None)
    @given(payload=_garbage())
    def attack(payload: bytes) -> None:
        with socket.create_connection(("127.0.0.1", node.server.port), timeout=5) as raw:
            try:
                raw.sendall(payload)
                raw.shutdown(socket.SHUT_WR)
                raw.settimeout(5)
                while raw.recv(4096):
                    pass
            except OSError:
                pass

    attack()
    assert node.opened == []  # no garbage ever got as far as the sound card
    assert node.server.stats.auth_failures + node.server.stats.protocol_errors > 0
    node.healthy()


class GarbageNode:
    """A fake node that answers every connection with the given bytes, then closes."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.payload = b""
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(2)
                    conn.recv(4096)
                    conn.sendall(self.payload)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.listener.close()


def test_fuzz_client_over_socket() -> None:
    """A hostile or broken node (200 garbage answers) makes the client raise SourceError."""
    garbage = GarbageNode()

    @settings(max_examples=200, derandomize=True, deadline=None, database=None)
    @given(payload=_garbage())
    def answer(payload: bytes) -> None:
        garbage.payload = payload
        with pytest.raises(SourceError):
            NodeClient("127.0.0.1", garbage.port, KEY, connect_timeout=2.0)

    try:
        answer()
    finally:
        garbage.close()


def test_connection_flood_is_bounded(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle connections beyond MAX_CONNECTIONS are refused; the key holder still gets in
    once they go away."""
    from uspd.node import server as server_module

    monkeypatch.setattr(server_module, "MAX_CONNECTIONS", 4)
    idle = [socket.create_connection(("127.0.0.1", node.server.port)) for _ in range(4)]
    try:
        extra = socket.create_connection(("127.0.0.1", node.server.port))
        extra.settimeout(5)
        assert extra.recv(16) == b""  # closed by the node at once
        extra.close()
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + 10
    while any(t.is_alive() for t in node.server._conns) and time.monotonic() < deadline:
        time.sleep(0.05)  # the node notices the closed sockets
    node.healthy()
