"""Objects and uploads in progress survive `kill -9` of the server, on both engines."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.objects.client import PART
from tests.process import ServerProcess, start_server


def _ok(server: ServerProcess, path: str, body: Any, token: str) -> Any:
    result = server.post(path, body, token)
    assert result["errCode"] == 0, result
    return result.get("data")


def _token(server: ServerProcess) -> str:
    data = _ok(server, "/auth/get_user_token", {"userID": "alice", "platformID": 5}, server.admin_token())
    return str(data["token"])


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["local", "minio"])
async def test_objects_and_pending_uploads_survive_kill_9(
    engine: str, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A stored object downloads after SIGKILL and restart; an upload with one part received completes afterwards
    with the part URLs signed before the crash."""
    env = {"OPENIM_DATABASE_URL": db_url, "OPENIM_OBJECT_ENABLE": engine, "OPENIM_OBJECT_MINPARTSIZE": str(PART)}
    if engine == "minio":
        env |= {
            "OPENIM_MINIO_INTERNALADDRESS": request.getfixturevalue("moto_server"),
            "OPENIM_MINIO_BUCKET": "restart",
        }
    _kill_and_restart(tmp_path, env)


def _kill_and_restart(tmp_path: Path, env: dict[str, str]) -> None:
    server = start_server(tmp_path, **env)
    try:
        _ok(server, "/user/user_register", {"users": [{"userID": "alice", "nickname": "a"}]}, server.admin_token())
        token = _token(server)
        kept = os.urandom(1000)
        digest = hashlib.md5(hashlib.md5(kept).hexdigest().encode()).hexdigest()
        init = {"hash": digest, "size": len(kept), "partSize": PART, "maxParts": 1, "name": "alice/kept.bin"}
        upload = _ok(server, "/object/initiate_multipart_upload", init, token)["upload"]
        assert httpx.put(upload["sign"]["parts"][0]["url"], content=kept).status_code == 200
        done = {"uploadID": upload["uploadID"], "parts": [hashlib.md5(kept).hexdigest()], "name": "alice/kept.bin"}
        kept_url = _ok(server, "/object/complete_multipart_upload", done, token)["url"]

        pending = os.urandom(2 * PART + 5)
        parts = [pending[i : i + PART] for i in range(0, len(pending), PART)]
        md5s = [hashlib.md5(p).hexdigest() for p in parts]
        init = {"hash": hashlib.md5(",".join(md5s).encode()).hexdigest(), "size": len(pending), "partSize": PART,
                "maxParts": -1, "name": "alice/pending.bin"}  # fmt: skip
        upload = _ok(server, "/object/initiate_multipart_upload", init, token)["upload"]
        urls = [p["url"] for p in upload["sign"]["parts"]]
        assert httpx.put(urls[0], content=parts[0]).status_code == 200

        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        server = start_server(tmp_path, ports=(server.api, server.gateway, server.admin), **env)
        token = _token(server)  # tokens live in the process without Redis

        assert httpx.get(kept_url, follow_redirects=True).content == kept
        for url, part in zip(urls[1:], parts[1:], strict=True):
            assert httpx.put(url, content=part).status_code == 200
        done = {"uploadID": upload["uploadID"], "parts": md5s, "name": "alice/pending.bin"}
        url = _ok(server, "/object/complete_multipart_upload", done, token)["url"]
        assert httpx.get(url, follow_redirects=True).content == pending
    finally:
        server.stop()
