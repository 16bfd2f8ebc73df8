"""/config/* and /restart over REST on SQLite and PostgreSQL: OpenIM's fields, admin only, keys that change at run
time applied to the running services, others refused with 1001, changes stored so the next start keeps them, and
/restart re-reading the config file. Across processes: tests/test_jobs_process.py and the Redis test below."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.api.conftest import Api
from tests.webhook_receiver import WebhookReceiver, refuse

from openim import __version__
from openim.api.app import create_app
from openim.infra.bus import TOPIC_CONFIG
from openim.infra.clock import FakeClock
from openim.runtime import Runtime
from openim.settings import load_settings

ROUTES = [
    "/config/get_config_list",
    "/config/get_config",
    "/config/set_config",
    "/config/reset_config",
    "/config/set_enable_config_manager",
    "/config/get_enable_config_manager",
    "/restart",
]


def write_config(path: Path, db_url: str, **sections: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"database": {"url": db_url}, **sections}))
    return path


@pytest.fixture
def config_file(tmp_path: Path, db_url: str) -> Path:
    return write_config(tmp_path / "config.yaml", db_url)


@pytest.fixture
async def api(config_file: Path) -> AsyncIterator[Api]:
    """The REST API over a runtime loaded from a config file (as `openim start --config` does)."""
    runtime = await Runtime.build(load_settings(config_file, env={}), clock=FakeClock(), config_path=config_file)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime.services)), base_url="http://t"
    ) as http:
        yield Api(http, runtime)
    await runtime.close()


async def admin_ok(api: Api, path: str, body: Any = None) -> Any:
    return await api.ok(path, body or {}, token=await api.admin_token())


async def admin_post(api: Api, path: str, body: Any = None) -> dict[str, Any]:
    return await api.post(path, body or {}, token=await api.admin_token())


async def enable(api: Api) -> None:
    await admin_ok(api, "/config/set_enable_config_manager", {"enable": True})


async def set_section(api: Api, name: str, values: dict[str, Any]) -> dict[str, Any]:
    return await admin_post(api, "/config/set_config", {"configName": name, "data": json.dumps(values)})


async def test_every_route_is_admin_only(api: Api) -> None:
    """A user token gets 1002 on every /config route and /restart, and changes nothing."""
    await api.register("alice")
    alice = await api.user_token("alice")
    for path in ROUTES:
        body = {"configName": "log", "data": "{}", "enable": True}
        assert (await api.post(path, body, token=alice))["errCode"] == 1002, path
    assert await admin_ok(api, "/config/get_enable_config_manager") == {"enable": False}


async def test_config_list_and_masked_sections(api: Api) -> None:
    """get_config_list answers OpenIM's fields; get_config a section as a JSON string with secrets masked."""
    data = await admin_ok(api, "/config/get_config_list")
    assert set(data) == {"environment", "version", "configNames"}
    assert data["environment"] in ("source", "docker", "kubernetes") and data["version"] == __version__
    assert {"log", "multiLogin", "cronTask", "database", "minio"} <= set(data["configNames"])
    log = await admin_ok(api, "/config/get_config", {"configName": "log"})
    assert isinstance(log, str) and json.loads(log)["remainLogLevel"] == 6
    minio = json.loads(await admin_ok(api, "/config/get_config", {"configName": "minio"}))
    assert minio["secretAccessKey"] == "***" and "openIM123" not in json.dumps(minio)
    missing = await admin_post(api, "/config/get_config", {"configName": "share.yml"})
    assert (missing["errCode"], missing["errDlt"]) == (1001, "config name not found")


async def test_set_config_needs_the_config_manager_enabled(api: Api) -> None:
    """With the config manager off (OpenIM's default), set_config is 1001 saying how to turn it on."""
    refused = await set_section(api, "log", {"remainLogLevel": 3})
    assert refused["errCode"] == 1001 and "set_enable_config_manager" in refused["errDlt"]
    assert api.runtime.settings.log.remainLogLevel == 6


async def test_run_time_keys_apply_to_the_running_services(api: Api) -> None:
    """Changed keys that may change at run time are stored and act at once: token lifetime, friendVerify, log."""
    await enable(api)
    assert (await set_section(api, "tokenPolicy", {"expire": "2d"}))["errCode"] == 0
    issued = await admin_ok(api, "/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})
    assert issued["expireTimeSeconds"] == 2 * 86400
    await api.register("alice", "bob")
    body = {"sendID": "alice", "recvID": "bob", "contentType": 101, "sessionType": 1, "content": {"content": "x"}}
    assert (await admin_post(api, "/msg/send_msg", body))["errCode"] == 0
    assert (await set_section(api, "msg", {"friendVerify": True}))["errCode"] == 0
    assert (await admin_post(api, "/msg/send_msg", body))["errCode"] == 1303  # not friends
    assert (await set_section(api, "log", {"remainLogLevel": 3}))["errCode"] == 0
    shown = json.loads(await admin_ok(api, "/config/get_config", {"configName": "log"}))
    assert shown["remainLogLevel"] == 3 and api.runtime.settings.log.remainLogLevel == 3
    enabled, stored = await api.runtime.storage.config_override.state()
    assert enabled and stored == {"tokenPolicy.expire": "2d", "msg.friendVerify": True, "log.remainLogLevel": 3}


async def test_keys_that_need_a_restart_are_refused(api: Api) -> None:
    """A change of a key read only at start is 1001 naming it and the keys that can change; nothing is stored."""
    await enable(api)
    refused = await set_section(api, "log", {"storageLocation": "/tmp/elsewhere", "remainLogLevel": 2})
    assert refused["errCode"] == 1001
    assert refused["errDlt"].startswith("log.storageLocation cannot change while the server runs")
    assert "log.remainLogLevel" in refused["errDlt"]
    assert api.runtime.settings.log.remainLogLevel == 6
    assert (await api.runtime.storage.config_override.state())[1] == {}


@pytest.mark.parametrize(
    ("name", "data", "detail"),
    [
        ("log", '{"remainLogLevel": 9}', "log.remainLogLevel: Input should be less than or equal to 6"),
        ("log", '{"remainLevel": 1}', "log.remainLevel: unknown key"),
        ("log", "[1]", "data must be a JSON object"),
        ("log", "{nope", "data is not JSON"),
        ("cronTask", '{"cronExecuteTime": "61 * * * *"}', "cronTask.cronExecuteTime: minute: '61' is outside 0-59"),
        ("nothing", "{}", "config name not found"),
    ],
)
async def test_bad_data_is_1001(api: Api, name: str, data: str, detail: str) -> None:
    """Bad JSON, unknown keys and invalid values are 1001 with the key and the reason."""
    await enable(api)
    refused = await admin_post(api, "/config/set_config", {"configName": name, "data": data})
    assert refused["errCode"] == 1001 and detail in refused["errDlt"], refused


async def test_a_masked_section_sent_back_changes_nothing(api: Api) -> None:
    """get_config's answer sent back to set_config (masked secrets included) is accepted and changes nothing."""
    await enable(api)
    for name in ("minio", "database", "object"):
        shown = await admin_ok(api, "/config/get_config", {"configName": name})
        assert (await admin_post(api, "/config/set_config", {"configName": name, "data": shown}))["errCode"] == 0
    assert (await api.runtime.storage.config_override.state())[1] == {}


async def test_changes_survive_a_restart_until_reset(api: Api, config_file: Path) -> None:
    """A new process on the same database starts with the stored changes; reset_config and turning the manager off
    bring every process back to its file."""
    await enable(api)
    assert (await set_section(api, "group", {"enableHistoryForNewMembers": False}))["errCode"] == 0
    later = await Runtime.build(load_settings(config_file, env={}), clock=FakeClock(), config_path=config_file)
    try:
        assert later.settings.group.enableHistoryForNewMembers is False
        assert later.services.group.enable_history_for_new_members is False
    finally:
        await later.close()
    await admin_ok(api, "/config/reset_config")
    assert api.runtime.services.group.enable_history_for_new_members is True
    assert (await set_section(api, "group", {"enableHistoryForNewMembers": False}))["errCode"] == 0
    await admin_ok(api, "/config/set_enable_config_manager", {"enable": False})
    assert api.runtime.settings.group.enableHistoryForNewMembers is True
    assert await api.runtime.storage.config_override.state() == (False, {})


async def test_restart_rereads_the_file(api: Api, config_file: Path, db_url: str) -> None:
    """/restart applies what changed in the file at run time and names what needs a real restart; a file that does
    not load is 1001 and nothing changes."""
    write_config(config_file, db_url, log={"remainLogLevel": 2}, api={"ports": [12345]})
    data = await admin_ok(api, "/restart")
    assert data == {"reloaded": ["log.remainLogLevel"], "restartRequired": ["api.ports"]}
    assert api.runtime.settings.log.remainLogLevel == 2 and api.runtime.settings.api.ports == [10002]
    await asyncio.to_thread(config_file.write_text, "log:\n  remainLogLevel: 99\n")
    broken = await admin_post(api, "/restart")
    assert broken["errCode"] == 1001 and "log.remainLogLevel" in broken["errDlt"]
    assert api.runtime.settings.log.remainLogLevel == 2


@pytest.mark.redis
async def test_a_change_reaches_every_process_through_redis(db_url: str, redis_url: str, tmp_path: Path) -> None:
    """set_config on one process is applied by another sharing the database and Redis (bus topic "config")."""
    path = write_config(tmp_path / "config.yaml", db_url, redis={"url": redis_url})
    first = await Runtime.build(load_settings(path, env={}), clock=FakeClock(), config_path=path)
    second = await Runtime.build(load_settings(path, env={}), clock=FakeClock(), config_path=path)
    events = second.bus.subscribe(TOPIC_CONFIG, second.on_config_event)  # as `openim start` does
    try:
        transport = httpx.ASGITransport(app=create_app(first.services))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            api = Api(http, first)
            await enable(api)
            assert (await set_section(api, "multiLogin", {"policy": 4}))["errCode"] == 0
        async with asyncio.timeout(5):
            while second.settings.multiLogin.policy != 4:  # noqa: ASYNC110 - the other process applies it by itself
                await asyncio.sleep(0.02)
        assert first.settings.multiLogin.policy == 4
    finally:
        await events.close()
        await first.close()
        await second.close()


async def test_webhooks_switch_on_and_off_at_run_time(api: Api) -> None:
    """webhooks.url and a hook's switch change in the running process: beforeSendSingleMsg starts refusing a send
    at the receiver's word, and stops when switched off again; webhooks.retry needs a restart."""
    await enable(api)
    await api.register("alice", "bob")
    body = {"sendID": "alice", "recvID": "bob", "contentType": 101, "sessionType": 1, "content": {"content": "x"}}
    with WebhookReceiver() as receiver:
        receiver.answer("callbackBeforeSendSingleMsgCommand", refuse(5001, "no", "not today"))
        hooks = {"url": receiver.url, "beforeSendSingleMsg": {"enable": True}}
        assert (await set_section(api, "webhooks", hooks))["errCode"] == 0
        refused = await admin_post(api, "/msg/send_msg", body)
        assert (refused["errCode"], refused["errMsg"]) == (5001, "no")
        assert [c.body["recvID"] for c in receiver.calls_of("callbackBeforeSendSingleMsgCommand")] == ["bob"]
        assert (await set_section(api, "webhooks", {"beforeSendSingleMsg": {"enable": False}}))["errCode"] == 0
        assert (await admin_post(api, "/msg/send_msg", body))["errCode"] == 0
        assert len(receiver.calls_of("callbackBeforeSendSingleMsgCommand")) == 1
    retry = await set_section(api, "webhooks", {"retry": {"attempts": 3}})
    assert retry["errCode"] == 1001 and retry["errDlt"].startswith("webhooks.retry.attempts cannot change")
