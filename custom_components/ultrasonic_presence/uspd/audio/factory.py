"""Which physical sensor a config entry means (`SourceSpec`) and how to open it.

A spec is plain data (stored in the Home Assistant config entry, printed by the CLI);
`open_source` turns it into a live `AudioSource`. Kinds whose implementation is not
part of this build are not listed by `available_kinds`, so adapters offer only what
works.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from ..node.keys import node_id
from .source import AudioSource, SourceError

SourceKind = Literal["simulated", "soundcard", "node"]


@dataclass(frozen=True)
class SourceSpec:
    """Kind + parameters of one sensor.

    simulated: {"scenario": "demo_room", "seed": int, "sample_rate": 96000, "mics": 4,
                "duration_s": optional float (scenario default otherwise)}
    soundcard: {"input_device": str, "output_device": str, "sample_rate": int,
                "channels": optional int (all the input device has, at most 8)}
    node:      {"host": str, "port": int, "key": str}
    """

    kind: SourceKind
    params: Mapping[str, Any] = field(default_factory=dict)

    def unique_id(self) -> str:
        """Stable id of the physical sensor (never contains secrets such as a node key).

        A node is named by its key (`node_unique_id` of `uspd.node.keys.node_id`, what
        it announces), so it keeps its id when it moves to another address; without a
        usable key (a discovered node before the user entered it) by host:port.
        """
        if self.kind == "node":
            key = self.params.get("key")
            if key:
                with contextlib.suppress(ValueError):
                    return node_unique_id(node_id(str(key)))
            ident = f"{self.params.get('host')}:{self.params.get('port')}"
        elif self.kind == "soundcard":
            ident = f"{self.params.get('input_device')}|{self.params.get('output_device')}"
        else:
            ident = json.dumps(
                {k: self.params.get(k) for k in ("scenario", "seed")}, sort_keys=True
            )
        digest = hashlib.sha256(f"{self.kind}:{ident}".encode()).hexdigest()[:12]
        return f"{self.kind}-{digest}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for storage."""
        return {"kind": self.kind, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceSpec:
        """Inverse of `to_dict`; ValueError on an unknown kind."""
        kind = data.get("kind")
        if kind not in ("simulated", "soundcard", "node"):
            raise ValueError(f"unknown source kind {kind!r}")
        return cls(kind=kind, params=dict(data.get("params", {})))


def node_unique_id(ident: str) -> str:
    """The unique id of the node whose `uspd.node.keys.node_id` is `ident`."""
    return f"node-{ident}"


def _open_simulated(spec: SourceSpec) -> AudioSource:
    from ..sim.library import build_scenario
    from ..sim.source import SimulatedSource

    params = spec.params
    try:
        scenario = build_scenario(
            str(params.get("scenario", "demo_room")),
            seed=int(params.get("seed", 0)),
            sample_rate=int(params.get("sample_rate", 96_000)),
            n_mics=int(params.get("mics", 4)),
            duration_s=float(params["duration_s"]) if "duration_s" in params else None,
        )
    except (KeyError, ValueError) as err:
        raise SourceError(f"simulated room: {err}", "device_not_found") from err
    return SimulatedSource(scenario)


def _open_soundcard(spec: SourceSpec) -> AudioSource:
    from .soundcard import SoundCardSource

    params = spec.params
    return SoundCardSource(
        input_device=params.get("input_device"),
        output_device=params.get("output_device"),
        sample_rate=int(params.get("sample_rate", 96_000)),
        channels=int(params["channels"]) if "channels" in params else None,
    )


def _open_node(spec: SourceSpec) -> AudioSource:
    from ..node.client import DEFAULT_PORT, NodeClient

    params = spec.params
    client = NodeClient(
        str(params.get("host", "")),
        int(params.get("port", DEFAULT_PORT)),
        str(params.get("key", "")),
    )
    # Its read() returns complex baseband, which Pipeline takes as is (see DspChain).
    return cast(AudioSource, client)


def _importable(module: str) -> bool:
    """True when an optional dependency (and its native library) loads."""
    try:
        importlib.import_module(module)
    except (ImportError, OSError):  # sounddevice raises OSError without PortAudio
        return False
    return True


_OPENERS: dict[str, Callable[[SourceSpec], AudioSource]] = {"simulated": _open_simulated}
if _importable("sounddevice"):
    _OPENERS["soundcard"] = _open_soundcard
if _importable("noise.connection"):
    _OPENERS["node"] = _open_node


def available_kinds() -> tuple[str, ...]:
    """Source kinds this build can open, in the order a user should see them."""
    return tuple(_OPENERS)


def open_source(spec: SourceSpec) -> AudioSource:
    """Open the sensor; SourceError (code device_not_found) if this build cannot."""
    opener = _OPENERS.get(spec.kind)
    if opener is None:
        raise SourceError(
            f"source kind {spec.kind!r} is not supported by this version", "device_not_found"
        )
    return opener(spec)
