"""Object fixtures: the API on the local engine or on an S3-compatible server (moto, a real process on loopback).

`engine` runs a test on both: `local` (files under tmp_path, served by the in-process API at http://openim.test)
and `minio` (OpenIM's S3-compatible engine against `moto_server` started once per session). One HTTP client
reaches both: requests to http://openim.test go to the app, every other URL (the presigned S3 ones) over TCP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.databases import copy_migrated_sqlite
from tests.objects.client import BASE, PART, ObjApi, object_settings
from tests.process import START_TIMEOUT, free_port

from openim.api.app import create_app
from openim.infra.clock import FakeClock
from openim.runtime import Runtime


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """`moto_server` on a free loopback port, S3 multipart minimum lowered to PART; its address host:port."""
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    env = {**os.environ, "S3_UPLOAD_PART_MIN_SIZE": str(PART)}
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["local", "minio"])
async def obj_api(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> AsyncIterator[ObjApi]:
    address = request.getfixturevalue("moto_server") if request.param == "minio" else ""
    settings = object_settings(request.param, db_url, tmp_path / "objects", address)
    await copy_migrated_sqlite(db_url, request.getfixturevalue("tmp_path_factory"))
    clock = FakeClock(start_ms=int(time.time() * 1000))  # presigned S3 URLs are checked against real time
    runtime = await Runtime.build(settings, clock=clock)
    app = create_app(runtime.services)
    mounts = {"all://openim.test": httpx.ASGITransport(app=app)}  # type: ignore[dict-item]
    async with httpx.AsyncClient(mounts=mounts, timeout=30) as http:
        api = ObjApi(http, runtime, clock, tmp_path / "objects", {})
        admin = (await _post(http, "/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"}))["token"]
        api.tokens["imAdmin"] = admin
        users = [{"userID": u, "nickname": u} for u in ("alice", "bob")]
        await _post(http, "/user/user_register", {"users": users}, admin)
        for u in ("alice", "bob"):
            data = await _post(http, "/auth/get_user_token", {"userID": u, "platformID": 5}, admin)
            api.tokens[u] = data["token"]
        yield api
    await runtime.close()


async def _post(http: httpx.AsyncClient, path: str, body: Any, token: str = "") -> Any:
    headers = {"operationID": "fixture", **({"token": token} if token else {})}
    resp = await http.post(BASE + path, json=body, headers=headers)
    result = resp.json()
    assert result["errCode"] == 0, result
    return result.get("data")
