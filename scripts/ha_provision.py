"""Make a fresh Home Assistant dev instance usable without clicking: onboarding + demo sensor.

Run beside a starting `hass` (scripts/develop does this; the boot smoke test too). It
waits for the HTTP API, completes onboarding with the documented dev credentials if
nobody has, logs in, and — if no Ultrasonic Presence entry exists — adds one on the
built-in simulated room by walking the integration's real config flow over the REST
API (the same steps a user clicks). Standard library only: it runs in .venv-ha.

Usage: python scripts/ha_provision.py [--url URL] [--timeout S] [--token-file PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DOMAIN = "ultrasonic_presence"
DEV_USER = {"name": "Developer", "username": "dev", "password": "ultrasonic-dev"}


class Api:
    """Tiny JSON client for HA's REST/auth endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.client_id = self.url + "/"
        self.token: str | None = None

    def call(
        self, method: str, path: str, body: Any = None, *, form: dict[str, str] | None = None
    ) -> Any:
        """One request; returns parsed JSON (or None for empty bodies)."""
        headers = {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def wait_up(self, timeout: float) -> None:
        """Poll until the onboarding endpoint answers (HTTP is up)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.call("GET", "/api/onboarding")
                return
            except urllib.error.URLError, ConnectionError, TimeoutError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"Home Assistant did not answer at {self.url}") from None
                time.sleep(1)

    def exchange_code(self, code: str) -> None:
        """Trade an auth code for an access token."""
        tokens = self.call(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        )
        self.token = tokens["access_token"]


def onboard_or_login(api: Api) -> None:
    """Finish onboarding with the dev user, or log in if it was done before."""
    done = {step["step"] for step in api.call("GET", "/api/onboarding") if step["done"]}
    if "user" not in done:
        result = api.call(
            "POST",
            "/api/onboarding/users",
            {**DEV_USER, "client_id": api.client_id, "language": "en"},
        )
        api.exchange_code(result["auth_code"])
    else:
        flow = api.call(
            "POST",
            "/auth/login_flow",
            {
                "client_id": api.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": api.client_id,
            },
        )
        result = api.call(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {
                "client_id": api.client_id,
                "username": DEV_USER["username"],
                "password": DEV_USER["password"],
            },
        )
        if result.get("type") != "create_entry":
            raise SystemExit(f"login as {DEV_USER['username']} failed: {result.get('errors')}")
        api.exchange_code(result["result"])
    if "core_config" not in done:
        api.call("POST", "/api/onboarding/core_config", {})
    if "analytics" not in done:
        api.call("POST", "/api/onboarding/analytics", {})
    if "integration" not in done:
        api.call(
            "POST",
            "/api/onboarding/integration",
            {"client_id": api.client_id, "redirect_uri": api.client_id},
        )


def add_simulated_room(api: Api, timeout: float) -> str:
    """Walk the config flow for the simulated room unless an entry exists already."""
    entries = api.call("GET", "/api/config/config_entries/entry")
    mine = [e for e in entries if e["domain"] == DOMAIN]
    if mine:
        return f"entry exists ({mine[0]['title']}, {mine[0]['state']})"
    step = api.call(
        "POST",
        "/api/config/config_entries/flow",
        {"handler": DOMAIN, "show_advanced_options": False},
    )
    deadline = time.monotonic() + timeout
    while step["type"] != "create_entry":
        if time.monotonic() > deadline:
            raise SystemExit(f"config flow did not finish: {step}")
        flow_path = f"/api/config/config_entries/flow/{step['flow_id']}"
        if step["type"] == "menu":
            step = api.call("POST", flow_path, {"next_step_id": step["menu_options"][0]})
        elif step["type"] == "form":
            if step.get("errors"):
                raise SystemExit(f"config flow error: {step['errors']}")
            # Defaults are what a newcomer would accept; the first step picks the demo.
            answer = {f["name"]: f["default"] for f in step["data_schema"] if "default" in f}
            if step["step_id"] == "user":
                answer["source"] = "simulated"
            step = api.call("POST", flow_path, answer)
        elif step["type"] == "progress":
            time.sleep(1)
            step = api.call("GET", flow_path)
            if step["type"] == "progress_done":
                step = api.call("POST", flow_path, {})
        elif step["type"] == "progress_done":
            step = api.call("POST", flow_path, {})
        else:
            raise SystemExit(f"config flow ended with {step['type']}: {step.get('reason')}")
    return f"created entry {step['title']}"


def wait_occupancy(api: Api, timeout: float) -> dict[str, Any]:
    """The first occupancy binary_sensor once it reports on/off (SystemExit on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        for state in api.call("GET", "/api/states"):
            if (
                state["entity_id"].startswith("binary_sensor.")
                and state["attributes"].get("device_class") == "occupancy"
                and state["state"] in ("on", "off")
            ):
                return dict(state)
        if time.monotonic() > deadline:
            raise SystemExit("no occupancy entity reported a state")
        time.sleep(1)


def main() -> int:
    """Parse arguments and provision."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--token-file", help="write the access token here (for tests)")
    parser.add_argument("--no-entry", action="store_true", help="only onboard")
    parser.add_argument(
        "--wait-occupancy",
        type=float,
        metavar="S",
        help="then wait up to S seconds for an occupancy entity with a state; print it as JSON",
    )
    args = parser.parse_args()
    api = Api(args.url)
    api.wait_up(args.timeout)
    onboard_or_login(api)
    message = "onboarded" if args.no_entry else add_simulated_room(api, args.timeout)
    if args.token_file:
        with open(args.token_file, "w", encoding="utf-8") as handle:  # noqa: PTH123
            handle.write(api.token or "")
    if args.wait_occupancy:
        print(json.dumps(wait_occupancy(api, args.wait_occupancy)))
    print(
        f"ha_provision: {message}; log in at {args.url} as "
        f"{DEV_USER['username']} / {DEV_USER['password']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
