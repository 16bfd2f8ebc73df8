"""`openim doctor`'s push checks: what each provider is missing is named (keys, the FCM key file and its fields,
URLs, Getui's $appId), a complete configuration passes, dead letters are counted; `openim start` refuses to run
msgtransfer with a provider that lacks a key."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.process import OPENIM, clean_env

from openim.infra.queue import dead_letter_topic
from openim.ops.doctor import Context, Status, Thresholds
from openim.ops.doctor.push import check_dead_letters, check_push, push_problems
from openim.services.msg.offline_push import TOPIC_OFFLINE_PUSH
from openim.settings import Settings
from openim.storage import open_storage


def _ctx(settings: Settings) -> Context:
    return Context(None, {}, settings, True, False, Thresholds(), Path("/proc"))


def test_log_is_ok_and_says_no_phone_is_notified() -> None:
    """The default provider passes, with a hint that it only logs."""
    check = check_push(_ctx(Settings()))
    assert check.status is Status.OK and "no phone is notified" in check.saw


@pytest.mark.parametrize(
    ("push", "missing"),
    [
        ({"enable": "webhook"}, ["push.webhook.url is empty"]),
        ({"enable": "webhook", "webhook": {"url": "ftp://x"}}, ["is not an http(s) URL"]),
        ({"enable": "fcm"}, ["push.fcm.filePath and push.fcm.authURL are both empty"]),
        ({"enable": "jpush"}, ["push.jpush.appKey is empty", "push.jpush.masterSecret is empty"]),
        ({"enable": "getui", "getui": {"appKey": "k", "masterSecret": "s"}}, ["push.getui.pushUrl still holds $appId"]),
        ({"enable": "getui", "getui": {"pushUrl": "https://x/v2/app"}}, ["appKey is empty", "masterSecret is empty"]),
    ],
)
def test_missing_keys_are_named(push: dict[str, object], missing: list[str]) -> None:
    """Each provider's missing or wrong keys are named, and the check fails."""
    settings = Settings(push=push)
    problems = push_problems(settings)
    assert len(problems) == len(missing) and all(m in p for m, p in zip(missing, problems, strict=True))
    assert check_push(_ctx(settings)).status is Status.FAIL


def test_fcm_key_file_unreadable_or_incomplete(tmp_path: Path) -> None:
    """A key file that does not exist, is not JSON, or lacks private_key is reported with what is wrong."""
    absent = Settings(push={"enable": "fcm", "fcm": {"filePath": str(tmp_path / "none.json")}})
    assert "cannot be read" in push_problems(absent)[0]
    (tmp_path / "bad.json").write_text("{not json")
    assert (
        "bad.json"
        in push_problems(Settings(push={"enable": "fcm", "fcm": {"filePath": str(tmp_path / "bad.json")}}))[0]
    )
    (tmp_path / "part.json").write_text(json.dumps({"project_id": "p", "client_email": "e", "token_uri": "https://t"}))
    part = Settings(push={"enable": "fcm", "fcm": {"filePath": str(tmp_path / "part.json")}})
    assert push_problems(part) == [f"push.fcm.filePath {tmp_path / 'part.json'}: the FCM credentials lack private_key"]


def test_complete_configurations_pass(tmp_path: Path) -> None:
    """Every provider with its keys set passes."""
    key = {"project_id": "p", "client_email": "e", "private_key": "-----BEGIN…", "token_uri": "https://t"}
    (tmp_path / "sa.json").write_text(json.dumps(key))
    for push in (
        {"enable": "webhook", "webhook": {"url": "http://127.0.0.1:8090/push"}},
        {"enable": "fcm", "fcm": {"filePath": str(tmp_path / "sa.json")}},
        {"enable": "fcm", "fcm": {"authURL": "https://secrets.example/sa.json"}},
        {"enable": "jpush", "jpush": {"appKey": "k", "masterSecret": "s"}},
        {"enable": "getui", "getui": {"appKey": "k", "masterSecret": "s", "pushUrl": "https://r/v2/app1"}},
    ):
        check = check_push(_ctx(Settings(push=push)))
        assert check.status is Status.OK, (push, check)


async def test_dead_letters_are_counted(db_url: str) -> None:
    """Jobs kept in offline_push.dead make the check warn with their number."""
    settings = Settings(database={"url": db_url})
    storage = await open_storage(db_url, pool_size=1)
    try:
        assert (await check_dead_letters(_ctx(settings))).status is Status.OK
        await storage.queue.add(dead_letter_topic(TOPIC_OFFLINE_PUSH), [b"x", b"y"], now=1)
    finally:
        await storage.close()
    check = await check_dead_letters(_ctx(settings))
    assert check.status is Status.WARN and check.saw.startswith("2 offline pushes failed every retry")


def test_start_refuses_a_provider_missing_keys(tmp_path: Path) -> None:
    """`openim start` with push.enable jpush and no key exits 1 naming the keys, before binding any port."""
    env = clean_env(OPENIM_PUSH_ENABLE="jpush", OPENIM_API_PORTS="1", OPENIM_MSGGATEWAY_PORTS="2")
    done = subprocess.run([*OPENIM, "start"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "push.jpush.appKey is empty" in done.stderr and "push.jpush.masterSecret is empty" in done.stderr
