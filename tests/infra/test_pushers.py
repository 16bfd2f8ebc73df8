"""The offline push providers against fake vendors on loopback that speak the real APIs (tests/pushfakes.py): auth,
request bodies, error answers, invalid-token removal and retries. Device tokens and badges are the real /third data
(ThirdService on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator

import pytest
from tests.pushfakes import FakeFcm, FakeGetui, FakeJPush, FakeWebhook

from openim.infra.clock import FakeClock
from openim.infra.pushers import LogPusher, Notice, PushError, ios_badge
from openim.infra.pushers.fcm import FcmPusher, service_account_of
from openim.infra.pushers.getui import GetuiPusher, getui_sign
from openim.infra.pushers.jpush import JPushPusher
from openim.infra.pushers.webhook import WebhookPusher
from openim.protocol.constants import ANDROID, IOS, WEB, WINDOWS
from openim.protocol.pb.sdkws_pb2 import MsgData, OfflinePushInfo
from openim.services.auth import Caller
from openim.services.third import ThirdService
from openim.storage import Storage

ADMIN = Caller("imAdmin", 10, is_admin=True)


def notice(*users: str, badge: bool = False, sound: str = "", ex: str = "e1") -> Notice:
    msg = MsgData(sendID="a", recvID=users[0], clientMsgID="cm1", contentType=101, sessionType=1, seq=7, content=b"hi")
    msg.offlinePushInfo.CopyFrom(OfflinePushInfo(title="Title", desc="Body", ex=ex, iOSBadgeCount=badge))
    return Notice(tuple(users), "Title", "Body", ex, sound, badge, "cm1", "si_a_b", msg, "op1")


@pytest.fixture
async def third(storage: Storage) -> ThirdService:
    """The /third service on a real database: where push tokens and badges live."""
    return ThirdService(storage, FakeClock())


@pytest.fixture
def fcm() -> Iterator[FakeFcm]:
    fake = FakeFcm()
    yield fake
    fake.server.stop()


@pytest.fixture
async def fcm_pusher(fcm: FakeFcm, third: ThirdService) -> AsyncIterator[FcmPusher]:
    pusher = FcmPusher(third, account=service_account_of(fcm.service_account()), endpoint=fcm.server.url)
    yield pusher
    await pusher.close()


async def test_fcm_sends_each_device_with_openims_fields(
    fcm: FakeFcm, fcm_pusher: FcmPusher, third: ThirdService
) -> None:
    """Every iOS/Android/Web token of the user gets one v1 message: title, body, data.ex, aps sound and badge."""
    await third.update_fcm_token(ADMIN, "b", IOS, "tok-ios", expire_time_s=0)
    await third.update_fcm_token(ADMIN, "b", ANDROID, "tok-android", expire_time_s=0)
    await third.update_fcm_token(ADMIN, "b", WINDOWS, "tok-pc", expire_time_s=0)  # not an FCM terminal
    await third.set_app_badge(ADMIN, "b", 5)
    await fcm_pusher.push(notice("b", badge=True, sound="ding.caf"))
    sent = sorted(fcm.sent(), key=lambda m: m["token"])
    assert [m["token"] for m in sent] == ["tok-android", "tok-ios"]
    assert sent[0] == {
        "token": "tok-android",
        "notification": {"title": "Title", "body": "Body"},
        "data": {"ex": "e1"},
        "apns": {"payload": {"aps": {"badge": 6, "sound": "ding.caf"}}},
    }
    assert await third.app_badge("b") == 6  # iOSBadgeCount counted this push once for the user


async def test_fcm_access_token_is_minted_once_and_cached(
    fcm: FakeFcm, fcm_pusher: FcmPusher, third: ThirdService
) -> None:
    """The RS256 assertion is exchanged once; later pushes reuse the access token until it expires."""
    await third.update_fcm_token(ADMIN, "b", ANDROID, "tok", expire_time_s=0)
    await fcm_pusher.push(notice("b"))
    await fcm_pusher.push(notice("b"))
    assert len(fcm.server.to("/token")) == 1 and len(fcm.sent()) == 2


async def test_fcm_renews_a_revoked_access_token(fcm: FakeFcm, fcm_pusher: FcmPusher, third: ThirdService) -> None:
    """A 401 from FCM makes the pusher mint a new access token and send again."""
    await third.update_fcm_token(ADMIN, "b", ANDROID, "tok", expire_time_s=0)
    await fcm_pusher.push(notice("b"))
    fcm.revoke_tokens()
    await fcm_pusher.push(notice("b"))
    assert len(fcm.server.to("/token")) == 2 and len(fcm.sent()) == 3


async def test_fcm_invalid_tokens_are_removed(fcm: FakeFcm, fcm_pusher: FcmPusher, third: ThirdService) -> None:
    """UNREGISTERED and INVALID_ARGUMENT on message.token remove that token; the push itself succeeds."""
    await third.update_fcm_token(ADMIN, "b", IOS, "gone", expire_time_s=0)
    await third.update_fcm_token(ADMIN, "b", ANDROID, "malformed-1", expire_time_s=0)
    await third.update_fcm_token(ADMIN, "b", WEB, "fine", expire_time_s=0)
    fcm.unregistered.add("gone")
    await fcm_pusher.push(notice("b"))
    assert await third.push_tokens("b", [IOS, ANDROID, WEB]) == {WEB: "fine"}


async def test_fcm_outage_raises_for_a_retry(fcm: FakeFcm, fcm_pusher: FcmPusher, third: ThirdService) -> None:
    """A 503 from FCM is a PushError (the job is retried) and removes nothing; the next push goes through."""
    await third.update_fcm_token(ADMIN, "b", ANDROID, "tok", expire_time_s=0)
    await fcm_pusher.push(notice("b"))  # the access token first, so the failure hits the send
    fcm.server.fail_next(503)
    with pytest.raises(PushError, match="503"):
        await fcm_pusher.push(notice("b"))
    await fcm_pusher.push(notice("b"))
    assert await third.push_tokens("b", [ANDROID]) == {ANDROID: "tok"}


async def test_fcm_user_without_token_sends_nothing(fcm: FakeFcm, fcm_pusher: FcmPusher) -> None:
    """No registered token: nothing is sent and nothing fails."""
    await fcm_pusher.push(notice("nobody"))
    assert fcm.sent() == []


async def test_fcm_wrong_key_is_refused_by_the_token_endpoint(fcm: FakeFcm, third: ThirdService) -> None:
    """An assertion signed with another key is refused (400 invalid_grant): a PushError naming OAuth2."""
    other = FakeFcm()
    try:
        account = service_account_of({**other.service_account(), "token_uri": f"{fcm.server.url}/token"})
        pusher = FcmPusher(third, account=account, endpoint=fcm.server.url)
        await third.update_fcm_token(ADMIN, "b", ANDROID, "tok", expire_time_s=0)
        with pytest.raises(PushError, match="OAuth2"):
            await pusher.push(notice("b"))
        await pusher.close()
    finally:
        other.server.stop()


def test_service_account_names_missing_fields() -> None:
    """A key file without private_key or token_uri is refused with the missing field names."""
    with pytest.raises(ValueError, match="private_key, token_uri"):
        service_account_of({"project_id": "p", "client_email": "e"})


# --- JPush -------------------------------------------------------------------------------------------------------


@pytest.fixture
def jpush() -> Iterator[FakeJPush]:
    fake = FakeJPush()
    yield fake
    fake.server.stop()


async def test_jpush_body_and_basic_auth(jpush: FakeJPush) -> None:
    """One /v3/push by alias with OpenIM's notification, message and options; Basic auth accepted."""
    jpush.devices.add("b")
    pusher = JPushPusher("jp-key", "jp-secret", push_url=jpush.push_url, intent="intent://open", production=True)
    await pusher.push(notice("b", "c", badge=True, sound="s.caf"))
    await pusher.close()
    [body] = jpush.pushes()
    extras = {"ex": "e1", "ClientMsgID": "cm1"}
    assert body["platform"] == "all" and body["audience"] == {"alias": ["b", "c"]}
    assert body["notification"]["ios"] == {
        "alert": {"title": "Title", "body": "Body"},
        "extras": extras,
        "mutable-content": True,
        "sound": "s.caf",
        "badge": "+1",
    }
    assert body["notification"]["android"] == {
        "alert": "Body",
        "title": "Title",
        "extras": extras,
        "intent": {"url": "intent://open"},
    }
    assert body["message"] == {"msg_content": "Body", "title": "Title", "extras": extras}
    assert body["options"] == {"apns_production": True}


async def test_jpush_alias_without_device_is_not_an_error(jpush: FakeJPush) -> None:
    """JPush's 1011 (no device for these aliases) is nothing to retry."""
    pusher = JPushPusher("jp-key", "jp-secret", push_url=jpush.push_url)
    await pusher.push(notice("nobody"))
    await pusher.close()
    assert len(jpush.pushes()) == 1


async def test_jpush_bad_secret_and_outage_raise(jpush: FakeJPush) -> None:
    """Wrong credentials (401, 1004) and a 502 are PushErrors."""
    jpush.devices.add("b")
    wrong = JPushPusher("jp-key", "nope", push_url=jpush.push_url)
    with pytest.raises(PushError, match="401"):
        await wrong.push(notice("b"))
    await wrong.close()
    right = JPushPusher("jp-key", "jp-secret", push_url=jpush.push_url)
    jpush.server.fail_next(502)
    with pytest.raises(PushError, match="502"):
        await right.push(notice("b"))
    await right.close()


# --- Getui -------------------------------------------------------------------------------------------------------


@pytest.fixture
def getui() -> Iterator[FakeGetui]:
    fake = FakeGetui()
    yield fake
    fake.server.stop()


def test_getui_sign_is_sha256_of_key_time_secret() -> None:
    """sign = hex SHA-256(appKey + timestamp + masterSecret)."""
    assert getui_sign("k", 1700000000000, "s") == hashlib.sha256(b"k1700000000000s").hexdigest()


async def test_getui_single_push_by_alias_with_cached_token(getui: FakeGetui) -> None:
    """One user: auth once, then /push/single/alias with a 32-character request_id; the token is reused."""
    pusher = GetuiPusher("gt-key", "gt-secret", push_url=getui.push_url, channel_id="ch", channel_name="Chat")
    await pusher.push(notice("b"))
    await pusher.push(notice("b"))
    await pusher.close()
    assert len(getui.server.to("/auth")) == 1
    singles = [r.json() for r in getui.server.to("/push/single/alias")]
    assert len(singles) == 2 and singles[0]["audience"] == {"alias": ["b"]} and len(singles[0]["request_id"]) == 32
    assert singles[0]["request_id"] == singles[1]["request_id"]  # a retried push is the same request for Getui
    note = singles[0]["push_message"]["notification"]
    assert (note["title"], note["body"], note["channel_id"], note["click_type"]) == ("Title", "Body", "ch", "startapp")
    assert singles[0]["push_channel"]["ios"]["aps"]["alert"] == {"title": "Title", "body": "Body"}


async def test_getui_batch_push_creates_a_task(getui: FakeGetui) -> None:
    """Several users: /push/list/message gives a taskid, /push/list/alias sends it to the aliases."""
    pusher = GetuiPusher("gt-key", "gt-secret", push_url=getui.push_url)
    await pusher.push(notice("b", "c"))
    await pusher.close()
    [task] = [r.json() for r in getui.server.to("/push/list/message")]
    assert task["settings"] == {"ttl": 300000, "strategy": {"default": 1}}
    [send] = [r.json() for r in getui.server.to("/push/list/alias")]
    assert send["audience"] == {"alias": ["b", "c"]} and send["taskid"].startswith("RASL_") and send["is_async"]


async def test_getui_expired_token_is_renewed(getui: FakeGetui) -> None:
    """Code 10001 makes the pusher authenticate again and resend."""
    pusher = GetuiPusher("gt-key", "gt-secret", push_url=getui.push_url)
    await pusher.push(notice("b"))
    getui.expire_tokens()
    await pusher.push(notice("b"))
    await pusher.close()
    assert len(getui.server.to("/auth")) == 2 and len(getui.server.to("/push/single/alias")) == 3


async def test_getui_wrong_secret_raises(getui: FakeGetui) -> None:
    """A sign made with the wrong secret is refused: PushError, nothing pushed."""
    pusher = GetuiPusher("gt-key", "wrong", push_url=getui.push_url)
    with pytest.raises(PushError, match="10002"):
        await pusher.push(notice("b"))
    await pusher.close()
    assert getui.server.to("/push/single/alias") == []


# --- webhook, log, badges ------------------------------------------------------------------------------------------


async def test_webhook_posts_openims_fields_and_raises_on_failure(third: ThirdService) -> None:
    """The app server gets OpenIM's push fields and the badge; a 500 answer is a PushError."""
    hook = FakeWebhook()
    try:
        pusher = WebhookPusher(hook.url, third)
        await pusher.push(notice("b", badge=False))
        [body] = hook.bodies()
        assert body["callbackCommand"] == "callbackOfflinePushCommand"
        assert (body["userIDList"], body["title"], body["desc"], body["ex"]) == (["b"], "Title", "Body", "e1")
        assert (body["clientMsgID"], body["sendID"], body["contentType"], body["content"]) == ("cm1", "a", 101, "hi")
        assert (body["conversationID"], body["seq"], body["badges"]) == ("si_a_b", 7, {"b": 1})
        assert hook.server.requests[0].headers["operationid"] == "op1"
        hook.server.fail_next(500)
        with pytest.raises(PushError, match="500"):
            await pusher.push(notice("b"))
        await pusher.close()
    finally:
        hook.server.stop()


async def test_webhook_unreachable_raises(third: ThirdService) -> None:
    """Nobody listening: a PushError saying so, not a crash."""
    pusher = WebhookPusher("http://127.0.0.1:9/push", third, timeout_s=1)
    with pytest.raises(PushError, match="unreachable"):
        await pusher.push(notice("b"))
    await pusher.close()


async def test_ios_badge_follows_openim(third: ThirdService) -> None:
    """Without iOSBadgeCount the stored badge is shown (1 when 0); with it the badge goes up by one first."""
    assert await ios_badge(third, "b", count=False) == 1
    await third.set_app_badge(ADMIN, "b", 4)
    assert await ios_badge(third, "b", count=False) == 4
    assert await ios_badge(third, "b", count=True) == 5
    assert await third.app_badge("b") == 5


async def test_log_pusher_needs_nothing() -> None:
    """LogPusher takes any notice and closes."""
    pusher = LogPusher()
    await pusher.push(notice("b"))
    await pusher.close()
