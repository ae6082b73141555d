"""`uspd node`: run a sensor node (sound card or simulated room) for Home Assistant."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from ..cli import UserError


def default_key_file() -> Path:
    """Where the node keeps its pre-shared key (0600)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "uspd" / "node.key"


def register(sub: Any) -> None:
    """Add the `node` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "node",
        help="run a sensor node: stream encrypted ultrasonic baseband to Home Assistant",
    )
    parser.add_argument("--simulate", metavar="SCENARIO", help="simulated room instead of a card")
    parser.add_argument("--seed", type=int, default=0, help="simulated scenario seed")
    parser.add_argument("--input", help="input device (name or index; default device)")
    parser.add_argument("--output", help="output device (name or index; default device)")
    parser.add_argument("--rate", type=int, default=96000, help="sample rate (Hz)")
    parser.add_argument("--mics", type=int, default=None, help="microphones 1..8")
    parser.add_argument("--host", default="0.0.0.0", help="listen address")
    parser.add_argument("--port", type=int, default=47621, help="TCP port")
    parser.add_argument("--key-file", type=Path, default=None, help="pre-shared key file")
    parser.add_argument("--show-key", action="store_true", help="print the key and exit")
    parser.add_argument("--name", default=None, help="name announced to Home Assistant")
    parser.add_argument("--no-zeroconf", action="store_true", help="do not announce by mDNS")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="simulated room: no real-time pacing (the client's reads set the pace)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM."""
    from .. import __version__
    from ..audio.source import AudioSource, SourceError
    from ..node.keys import load_or_create_key, node_id
    from ..node.server import NodeServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    key_file = args.key_file or default_key_file()
    key, created = load_or_create_key(key_file)
    if args.show_key:
        print(key)
        return 0
    if created:
        print(f"new node key (stored in {key_file}, mode 0600) — enter it in Home Assistant:")
        print(f"  {key}")
    name = args.name or f"uspd-{socket.gethostname().split('.')[0]}"

    if args.simulate:
        from ..sim.library import build_scenario
        from ..sim.source import SimulatedSource

        try:
            scenario = build_scenario(
                args.simulate, seed=args.seed, sample_rate=args.rate, n_mics=args.mics or 4
            )
        except (KeyError, ValueError) as err:
            raise UserError(str(err).strip("'\"")) from err

        def factory() -> AudioSource:
            source = SimulatedSource(scenario)
            return source if args.fast else PacedSource(source)

    else:
        try:
            from ..audio.soundcard import SoundCardSource
        except (ImportError, OSError) as err:
            raise UserError(f"sound card unavailable: {err} (install libportaudio2)") from err

        def factory() -> AudioSource:
            return SoundCardSource(args.input, args.output, args.rate, args.mics)

        try:  # fail early with a clear message, then release the card until a client comes
            factory().close()
        except SourceError as err:
            raise UserError(f"{err} [{err.code}]") from err

    server = NodeServer(
        factory,
        key,
        host=args.host,
        port=args.port,
        name=name,
        state_file=key_file.with_name(key_file.stem + ".state.json"),
    )
    ident = node_id(key)
    print(f"uspd node {name} (id {ident}) listening on {server.host}:{server.port}", flush=True)
    announcer = None
    if not args.no_zeroconf:
        announcer = _announce(server, name, ident, factory, __version__)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    try:
        while not stop.wait(60.0):
            logging.info("node stats: %s", server.stats)
    finally:
        if announcer is not None:
            announcer.close()
        server.stop()
    return 0


def _announce(server: Any, name: str, ident: str, factory: Any, version: str) -> Any:
    """mDNS announcement; a missing zeroconf package only costs discovery."""
    try:
        from ..node.announce import Announcer, service_properties
    except ImportError as err:
        logging.warning("zeroconf unavailable (%s): enter host and port by hand", err)
        return None
    source = factory()
    try:
        props = service_properties(
            name, source.sample_rate, source.channels, version, node_id=ident
        )
    finally:
        source.close()
    try:
        return Announcer(name, server.port, props, server.host)
    except OSError as err:
        logging.warning("mDNS announcement failed (%s): enter host and port by hand", err)
        return None


class PacedSource:
    """A simulated room read no faster than real time (what a sound card does)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._t0: float | None = None
        self._frames = 0

    @property
    def sample_rate(self) -> int:
        """Samples per second per channel."""
        return int(self.inner.sample_rate)

    @property
    def channels(self) -> int:
        """Microphones."""
        return int(self.inner.channels)

    def read(self, frames: int) -> Any:
        """Block until the audio would have been recorded."""
        if self._t0 is None:
            self._t0 = time.monotonic()
        self._frames += frames
        ahead = self._t0 + self._frames / self.sample_rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        return self.inner.read(frames)

    def set_emission(self, carrier_hz: float | None, level_dbfs: float) -> None:
        """Forward."""
        self.inner.set_emission(carrier_hz, level_dbfs)

    def close(self) -> None:
        """Forward."""
        self.inner.close()
