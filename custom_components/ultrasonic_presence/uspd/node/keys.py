"""The node's pre-shared key and the public node id derived from it.

No `noiseprotocol` here: the id is needed wherever a node is named (the source spec's
unique id, the zeroconf announcement, the Home Assistant config flow), also in builds
that cannot open the link itself.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import secrets
from pathlib import Path

KEY_BYTES = 32
NODE_ID_LABEL = b"uspd node id v1\x00"
"""Domain separation: the id hash is never the same as any other use of the key."""
NODE_ID_HEX = 16
_NODE_ID = re.compile(rf"[0-9a-f]{{{NODE_ID_HEX}}}")


def generate_key() -> str:
    """A new pre-shared key, base64 text (what the user copies into Home Assistant)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def decode_key(text: str) -> bytes:
    """32 key bytes from base64 (standard or URL-safe) or hex; ValueError otherwise."""
    cleaned = "".join(text.split())
    raw: bytes | None = None
    if len(cleaned) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            raw = bytes.fromhex(cleaned)
    if raw is None:
        try:
            raw = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError) as err:
            raise ValueError("the node key is not valid base64") from err
    if len(raw) != KEY_BYTES:
        raise ValueError(f"the node key must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def node_id(key: str) -> str:
    """The node's public id: the first 16 hex digits of SHA-256(NODE_ID_LABEL ‖ key bytes).

    The node announces it (zeroconf TXT `id`) so Home Assistant recognises a node that
    moved to another address, where a host:port id would make it a new node. It is
    one-way and domain-separated, so it tells nothing about the key (32 random bytes,
    beyond guessing), and the same key written as base64 or hex gives the same id. A
    re-keyed node gets a new id, which is right: it has to be paired again anyway.
    ValueError when `key` is not a key.
    """
    return hashlib.sha256(NODE_ID_LABEL + decode_key(key)).hexdigest()[:NODE_ID_HEX]


def is_node_id(text: str) -> bool:
    """True when `text` has the form of a `node_id` (for ids from the network)."""
    return _NODE_ID.fullmatch(text) is not None


def load_or_create_key(path: Path) -> tuple[str, bool]:
    """The key stored at `path` (created with 0600 permissions if missing); (key, created)."""
    if path.exists():
        text = path.read_text(encoding="ascii").strip()
        decode_key(text)
        return text, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    path.chmod(0o600)
    return key, True
