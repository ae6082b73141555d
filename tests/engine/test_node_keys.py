"""The node id derived from a node's key, and the source ids built on it (no network)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from uspd.audio.factory import SourceSpec, node_unique_id
from uspd.node.keys import generate_key, is_node_id, node_id

KEY_BYTES = bytes(range(32))
KEY = base64.b64encode(KEY_BYTES).decode()


def test_node_id_is_stable_and_public() -> None:
    """Fixed forever (Home Assistant stores it as the entry's unique id), one per key,
    the same for the key's base64 and hex forms, and nothing of the key in it."""
    assert node_id(KEY) == "1737e6daeaf9b45b"
    assert node_id(KEY) == node_id(f" {KEY}\n") == node_id(KEY_BYTES.hex())
    assert node_id(KEY) == node_id(base64.urlsafe_b64encode(KEY_BYTES).decode())
    assert is_node_id(node_id(KEY))

    ident = node_id(KEY)
    assert ident not in KEY and ident not in KEY_BYTES.hex()
    assert KEY_BYTES.hex()[:8] not in ident
    # Domain-separated: not a plain hash of the key either.
    assert ident != hashlib.sha256(KEY_BYTES).hexdigest()[:16]


def test_node_ids_differ_per_key() -> None:
    keys = [generate_key() for _ in range(50)]
    ids = {node_id(key) for key in keys}
    assert len(ids) == 50
    assert all(is_node_id(ident) for ident in ids)


@pytest.mark.parametrize("text", ["", "secret", KEY[:-4], base64.b64encode(bytes(16)).decode()])
def test_node_id_of_a_non_key(text: str) -> None:
    with pytest.raises(ValueError):
        node_id(text)


@pytest.mark.parametrize(
    "text", ["", "1737e6daeaf9b45", "1737e6daeaf9b45b0", "1737E6DAEAF9B45B", "1737e6daeaf9b45g"]
)
def test_is_node_id_rejects_other_text(text: str) -> None:
    assert not is_node_id(text)


def test_node_unique_id_follows_the_key_not_the_address() -> None:
    spec = SourceSpec("node", {"host": "192.168.1.50", "port": 7355, "key": KEY})
    moved = SourceSpec("node", {"host": "10.0.0.9", "port": 47621, "key": KEY_BYTES.hex()})
    assert spec.unique_id() == moved.unique_id() == node_unique_id(node_id(KEY))
    assert spec.unique_id() == "node-1737e6daeaf9b45b"
    assert KEY not in spec.unique_id()
    rekeyed = SourceSpec("node", {"host": "192.168.1.50", "port": 7355, "key": generate_key()})
    assert rekeyed.unique_id() != spec.unique_id()


def test_unique_ids_without_a_node_key_are_unchanged() -> None:
    """The ids config entries were created with before node ids (1.1) stay as they were."""
    assert SourceSpec("node", {"host": "192.168.1.50", "port": 7355}).unique_id() == (
        "node-41114bb673c6"
    )
    assert SourceSpec("node", {"host": "192.168.1.50", "port": 7355, "key": "x"}).unique_id() == (
        "node-41114bb673c6"
    )
    simulated = {"scenario": "demo_room", "seed": 0, "sample_rate": 96000, "mics": 4}
    assert SourceSpec("simulated", simulated).unique_id() == "simulated-4b042f1529e9"
    soundcard = {"input_device": "hw:1,0", "output_device": "hw:1,0", "sample_rate": 192000}
    assert SourceSpec("soundcard", soundcard).unique_id() == "soundcard-b9570585dc67"
