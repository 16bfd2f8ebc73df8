"""Tests for openim.services.third: token lifetimes, logout of one device, log ownership and IDs."""

from __future__ import annotations

import re

import pytest

from openim.infra.clock import FakeClock
from openim.protocol.errors import ArgsError, NoPermissionError, RecordNotFoundError
from openim.services.auth import Caller
from openim.services.paging import Page
from openim.services.third import MAX_LOG_FILES, ThirdService
from openim.storage import Storage

ANDROID, WEB = 2, 5
ADMIN = Caller("imAdmin", 10, is_admin=True)
ALICE, ALICE_WEB, BOB = Caller("alice", ANDROID), Caller("alice", WEB), Caller("bob", ANDROID)


@pytest.fixture
def third(storage: Storage) -> ThirdService:
    return ThirdService(storage, FakeClock(), grafana_url="")


async def test_token_lifetime_counts_from_registration(third: ThirdService) -> None:
    """expireTime seconds from now; re-registering restarts it; 0 keeps it until logout."""
    clock = third.clock
    assert isinstance(clock, FakeClock)
    await third.update_fcm_token(ALICE, "alice", ANDROID, "t1", expire_time_s=10)
    clock.advance(9)
    await third.update_fcm_token(ALICE, "alice", ANDROID, "t2", expire_time_s=10)
    clock.advance(9)
    assert await third.fcm_token("alice", ANDROID) == "t2"
    clock.advance(1)
    assert await third.fcm_token("alice", ANDROID) is None
    await third.update_fcm_token(ALICE, "alice", ANDROID, "t3", expire_time_s=0)
    clock.advance(10**8)
    assert await third.fcm_token("alice", ANDROID) == "t3"


async def test_logout_forgets_only_the_callers_device(third: ThirdService) -> None:
    """A logout from alice's Web connection leaves her Android token and bob's."""
    for caller, account, platform in ((ALICE, "alice", ANDROID), (ALICE_WEB, "alice", WEB), (BOB, "bob", ANDROID)):
        await third.update_fcm_token(caller, account, platform, f"{account}-{platform}", expire_time_s=0)
    await third.logout(ALICE_WEB)
    assert await third.fcm_token("alice", WEB) is None
    assert await third.fcm_token("alice", ANDROID) == f"alice-{ANDROID}"
    assert await third.fcm_token("bob", ANDROID) == f"bob-{ANDROID}"


async def test_tokens_and_badges_are_for_oneself(third: ThirdService) -> None:
    """bob may not set alice's token or badge; an admin may."""
    with pytest.raises(NoPermissionError):
        await third.update_fcm_token(BOB, "alice", ANDROID, "x", expire_time_s=0)
    with pytest.raises(NoPermissionError):
        await third.set_app_badge(BOB, "alice", 1)
    await third.set_app_badge(ADMIN, "alice", 4)
    assert await third.app_badge("alice") == 4


async def test_many_files_get_distinct_ten_digit_ids(third: ThirdService) -> None:
    """An upload of MAX_LOG_FILES files records each with its own 10-digit ID, none starting with 0."""
    files = [(f"{i}.zip", f"http://o/{i}") for i in range(MAX_LOG_FILES)]
    await third.upload_logs(ALICE, ANDROID, files)
    total, logs = await third.search_logs(ADMIN, "", 0, 0, Page(1, 100))
    assert total == MAX_LOG_FILES
    ids = {v.log.log_id for v in logs}
    assert len(ids) == MAX_LOG_FILES and all(re.fullmatch(r"[1-9]\d{9}", i) for i in ids)
    with pytest.raises(ArgsError):
        await third.upload_logs(ALICE, ANDROID, [*files, ("x", "y")])


async def test_delete_logs_is_all_or_nothing_within_ones_own(third: ThirdService) -> None:
    """A user naming someone else's log gets 1004 and nothing goes; its own go; admins delete any."""
    await third.upload_logs(ALICE, ANDROID, [("a", "u")])
    await third.upload_logs(BOB, ANDROID, [("b", "u")])
    _, logs = await third.search_logs(ADMIN, "", 0, 0, Page(1, 10))
    by_owner = {v.log.user_id: v.log.log_id for v in logs}
    with pytest.raises(RecordNotFoundError):
        await third.delete_logs(BOB, [by_owner["bob"], by_owner["alice"]])
    assert (await third.search_logs(ADMIN, "", 0, 0, Page(1, 10)))[0] == 2
    await third.delete_logs(BOB, [by_owner["bob"]])
    await third.delete_logs(ADMIN, [by_owner["alice"]])
    assert (await third.search_logs(ADMIN, "", 0, 0, Page(1, 10)))[0] == 0
