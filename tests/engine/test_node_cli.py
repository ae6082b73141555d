"""`uspd node` / `uspd probe` command lines and the zeroconf announcement (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from uspd import cli
from uspd.node import announce
from uspd.node.keys import generate_key, node_id
from uspd.node.protocol import decode_key


def test_node_key_created_private_and_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "uspd" / "node.key"
    assert cli.main(["node", "--key-file", str(key_file), "--show-key"]) == 0
    key = capsys.readouterr().out.strip()
    assert len(decode_key(key)) == 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert cli.main(["node", "--key-file", str(key_file), "--show-key"]) == 0
    assert capsys.readouterr().out.strip() == key  # stable across runs


def test_node_unknown_scenario_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["node", "--simulate", "no_such_room", "--key-file", str(tmp_path / "k")])
    assert code == 2
    assert "no_such_room" in capsys.readouterr().err


def test_probe_list_runs(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uspd.audio.soundcard", exc_type=ImportError)
    assert cli.main(["probe", "--list"]) == 0
    assert "devices:" in capsys.readouterr().out


class FakeZeroconf:
    registered: ClassVar[list[Any]] = []

    def register_service(self, info: Any) -> None:
        self.registered.append(info)

    def unregister_service(self, info: Any) -> None:
        self.registered.remove(info)

    def close(self) -> None:
        pass


def test_announcement(monkeypatch: pytest.MonkeyPatch) -> None:
    """The node registers `_uspd._tcp.local.` with public facts only (never the key)."""
    import zeroconf

    monkeypatch.setattr(zeroconf, "Zeroconf", FakeZeroconf)
    key = generate_key()
    props = announce.service_properties("kitchen", 96000, 4, "0.1.0", node_id=node_id(key))
    ann = announce.Announcer("kitchen", 47621, props, "127.0.0.1")
    [info] = FakeZeroconf.registered
    assert info.type == "_uspd._tcp.local." == announce.SERVICE_TYPE
    assert info.name == "kitchen._uspd._tcp.local."
    assert info.port == 47621
    assert info.decoded_properties == {
        "id": node_id(key), "name": "kitchen", "version": "0.1.0", "protocol": "1",
        "sample_rate": "96000", "mics": "4",
    }  # fmt: skip
    assert all(key not in value for value in info.decoded_properties.values())
    assert info.parsed_addresses() == ["127.0.0.1"]
    ann.close()
    assert FakeZeroconf.registered == []


def test_manifest_announces_the_same_type() -> None:
    import json

    manifest = Path(cli.__file__).parents[1] / "manifest.json"
    assert announce.SERVICE_TYPE in json.loads(manifest.read_text())["zeroconf"]
