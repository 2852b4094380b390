"""The bootstrap command line, driven as a user would: the installed ``gongpei`` script, JSON out."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_database, drop_database

GONGPEI = str(Path(sys.executable).with_name("gongpei"))


def _run(env: dict[str, str], *args: str, ok: bool = True) -> dict[str, Any]:
    proc = subprocess.run([GONGPEI, *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGPEI_")}
    env.update({"GONGPEI_DATABASE_URL": database_url, "GONGPEI_LOG_LEVEL": "WARNING", "HOME": str(tmp_path)})
    return env


@pytest.fixture(params=["postgresql", "sqlite"])
def cli_env(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "postgresql":
        url = create_database("gongpei_cli")
        yield _env(url, tmp_path)
        drop_database(url)
    else:
        yield _env(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)


def test_bootstrap_commands_print_json(cli_env: dict[str, str]) -> None:
    """db upgrade → operator create → carrier create, each printing JSON; the key is shown once."""
    upgraded = _run(cli_env, "db", "upgrade")
    assert len(upgraded["revision"]) == 1
    assert _run(cli_env, "db", "current")["at_head"] is True

    operator = _run(cli_env, "operator", "create", "--name", "宽甸县共配中心", "--county", "210624")
    assert uuid.UUID(operator["operator_id"])
    assert operator["county_name"] == "宽甸满族自治县"

    carrier = _run(
        cli_env,
        "carrier",
        "create",
        "--operator",
        operator["operator_id"],
        "--brand",
        "zto",
        "--callback-url",
        "https://carrier.test/hook",
    )
    assert uuid.UUID(carrier["carrier_id"])
    assert carrier["api_key"].startswith("gpk_")
    assert len(carrier["api_key"]) > 40


def test_bad_arguments_fail_with_a_named_field(cli_env: dict[str, str]) -> None:
    """An unknown county, a malformed operator id, a missing operator and a bad URL each name the field."""
    _run(cli_env, "db", "upgrade")
    assert (
        _run(cli_env, "operator", "create", "--name", "x", "--county", "999999", ok=False)["field"]
        == "county"
    )
    assert _run(cli_env, "operator", "create", "--name", "x", "--county", "21", ok=False)["field"] == "county"
    assert (
        _run(cli_env, "carrier", "create", "--operator", "nope", "--brand", "zto", ok=False)["field"]
        == "operator"
    )
    missing = _run(cli_env, "carrier", "create", "--operator", str(uuid.uuid4()), "--brand", "zto", ok=False)
    assert "not found" in missing["error"]
    operator = _run(cli_env, "operator", "create", "--name", "x", "--county", "210624")["operator_id"]
    bad_url = _run(
        cli_env,
        "carrier",
        "create",
        "--operator",
        operator,
        "--brand",
        "zto",
        "--callback-url",
        "ftp://x",
        ok=False,
    )
    assert bad_url["field"] == "callback_url"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_embedded_sqlite_from_nothing(tmp_path: Path) -> None:
    """`gongpei serve` on an empty SQLite path migrates it, then a carrier posts and reads a parcel."""
    env = _env(f"sqlite:///{tmp_path / 'fresh' / 'gongpei.db'}", tmp_path)
    port = _free_port()
    server = subprocess.Popen(
        [GONGPEI, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not become ready")
        operator = _run(env, "operator", "create", "--name", "演示", "--county", "210624")["operator_id"]
        key = _run(env, "carrier", "create", "--operator", operator, "--brand", "yto")["api_key"]
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "smoke-1"}
        body = {
            "parcels": [
                {
                    "waybill_no": "YT1234567890123",
                    "recipient": {"name": "李四", "phone": "13912345678"},
                    "address": "宽甸县青山沟镇青山村",
                    "weight_g": 800,
                }
            ]
        }
        first = httpx.post(f"{base}/v1/parcels", json=body, headers=headers)
        again = httpx.post(f"{base}/v1/parcels", json=body, headers=headers)
        assert first.status_code == 200
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        view = httpx.get(f"{base}/v1/parcels/YT1234567890123", headers=headers).json()
        assert view["recipient"]["phone"] == "*******5678"
        assert "gongpei_http_requests_total" in httpx.get(f"{base}/metrics").text
    finally:
        server.terminate()
        server.wait(timeout=20)
