"""Zeroconf announcement of a node (`_uspd._tcp.local.`) for Home Assistant discovery.

The TXT record carries only public facts (name, version, rate, mics, protocol, and the
node id derived one-way from the key, `keys.node_id`); the key never leaves the node
except through the user. Home Assistant's zeroconf integration matches the service type
in manifest.json and starts the config flow, which asks for (or confirms) the key, or,
for a node it knows by its id, updates the entry's address.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from .protocol import VERSION

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_uspd._tcp.local."


def service_properties(
    name: str, sample_rate: int, channels: int, version: str, *, node_id: str
) -> dict[str, str]:
    """TXT properties of a node's service; `node_id` is `keys.node_id` of its key."""
    return {
        "id": node_id,
        "name": name,
        "version": version,
        "protocol": str(VERSION),
        "sample_rate": str(sample_rate),
        "mics": str(channels),
    }


def local_addresses() -> list[str]:
    """The machine's IPv4 addresses other than loopback (what a node listening on
    0.0.0.0 is reachable at); `ifaddr` comes with python-zeroconf."""
    try:
        import ifaddr
    except ImportError:
        return [socket.gethostbyname(socket.gethostname())]
    found = [
        str(ip.ip)
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]
    return found or ["127.0.0.1"]


class Announcer:
    """Registers the service while the node runs (python-zeroconf)."""

    def __init__(self, name: str, port: int, properties: dict[str, str], address: str) -> None:
        from zeroconf import ServiceInfo, Zeroconf

        self._zc: Any = Zeroconf()
        host = socket.gethostname().split(".")[0] or "uspd-node"
        self._info: Any = ServiceInfo(
            SERVICE_TYPE,
            f"{name}.{SERVICE_TYPE}",
            port=port,
            properties=properties,
            server=f"{host}.local.",
            parsed_addresses=[address] if address not in ("", "0.0.0.0") else local_addresses(),
        )
        self._zc.register_service(self._info)
        _LOGGER.info("announced %s on port %d", self._info.name, port)

    def close(self) -> None:
        """Withdraw the announcement."""
        self._zc.unregister_service(self._info)
        self._zc.close()
