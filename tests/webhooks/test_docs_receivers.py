"""docs/integrations.md: the two copy-paste receivers run as written and answer openim-py's calls as the page says
(refuse "spam" with 5001, rewrite "darn" in text, allow everything else)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.process import free_port

from openim.infra.queue import MemoryQueue
from openim.protocol.errors import WebhookRefusal
from openim.settings import load_settings
from openim.webhooks import Webhooks

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def block(language: str) -> str:
    section = DOC.read_text().split("## A receiver in 20 lines", 1)[1]
    match = re.search(rf"^```{language}\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    assert match, f"no {language} block"
    return match.group(1)


def program(language: str, tmp_path: Path) -> list[str]:
    if language == "python":
        path = tmp_path / "receiver.py"
        path.write_text(block("python"))
        return [sys.executable, str(path)]
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/test-tools)")
    path = tmp_path / "receiver.js"
    path.write_text(block("js"))
    return [node, str(path)]


@pytest.fixture(params=["python", "js"])
def receiver_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        program(request.param, tmp_path),
        env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/callbackExample"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{url}/ping", json={}, timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url
    proc.kill()
    proc.wait()


def test_line_counts() -> None:
    """Each receiver is about 20 lines, as the page promises."""
    assert len(block("python").splitlines()) <= 25
    assert len(block("js").splitlines()) <= 25


async def test_doc_receivers_answer_as_documented(receiver_url: str) -> None:
    """Spam is refused with 5001, "darn" is rewritten in a text message, anything else is allowed."""
    env = {
        "OPENIM_WEBHOOKS_URL": receiver_url,
        "OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE": "true",
        "OPENIM_WEBHOOKS_BEFOREMSGMODIFY_ENABLE": "true",
        "OPENIM_WEBHOOKS_BEFOREUSERREGISTER_ENABLE": "true",
    }
    settings = load_settings(None, env)
    hooks = Webhooks.from_config(settings.webhooks.model_dump(), queue=MemoryQueue())
    with pytest.raises(WebhookRefusal) as refused:
        await hooks.before_send_single_msg.call({"content": json.dumps({"content": "buy spam"}), "contentType": 101})
    assert (refused.value.code, refused.value.message) == (5001, "no spam here")
    assert await hooks.before_send_single_msg.call({"content": '{"content": "hi"}', "contentType": 101}) is not None
    answer = await hooks.before_msg_modify.call({"content": '{"content": "darn it"}', "contentType": 101})
    assert answer is not None and json.loads(answer["content"]) == {"content": "d**n it"}
    answer = await hooks.before_user_register.call({"users": []})
    assert answer is not None and answer["nextCode"] == 0
    await hooks.close()
