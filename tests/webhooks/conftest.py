"""A runtime whose webhooks post to the test receiver, with its REST API in process and the msgtransfer worker of
the after hooks running: `hooked` (every hook of the message, user, connection, friend and group sets on), or
`hooked_with` for other settings. On SQLite and PostgreSQL (the `db_url` parameters)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from tests.api.chat import Chat, open_chat
from tests.api.conftest import Api
from tests.webhook_receiver import WebhookReceiver

from openim.api.app import create_app
from openim.infra.clock import FakeClock
from openim.jobs.worker import Worker
from openim.runtime import Runtime
from openim.settings import load_settings
from openim.webhooks import TOPIC_WEBHOOK

MSG_HOOKS = (
    "beforeSendSingleMsg",
    "afterSendSingleMsg",
    "beforeSendGroupMsg",
    "afterSendGroupMsg",
    "beforeMsgModify",
    "afterMsgSaveDB",
    "afterGroupMsgRead",
    "afterSingleMsgRead",
    "afterRevokeMsg",
    "afterGroupMsgRevoke",
)
USER_HOOKS = (
    "beforeUserRegister",
    "afterUserRegister",
    "beforeUpdateUserInfo",
    "afterUpdateUserInfo",
    "beforeUpdateUserInfoEx",
    "afterUpdateUserInfoEx",
)
CONNECTION_HOOKS = ("afterUserOnline", "afterUserOffline", "afterUserKickOff")
FRIEND_HOOKS = (
    "beforeAddFriend",
    "afterAddFriend",
    "beforeAddFriendAgree",
    "afterAddFriendAgree",
    "afterDeleteFriend",
    "beforeImportFriends",
    "afterImportFriends",
    "beforeSetFriendRemark",
    "afterSetFriendRemark",
    "beforeAddBlack",
    "afterRemoveBlack",
)
GROUP_HOOKS = (
    "beforeCreateGroup",
    "afterCreateGroup",
    "beforeMemberJoinGroup",
    "beforeSetGroupMemberInfo",
    "afterSetGroupMemberInfo",
    "afterQuitGroup",
    "afterKickGroupMember",
    "afterDismissGroup",
    "beforeApplyJoinGroup",
    "afterJoinGroup",
    "beforeInviteUserToGroup",
    "afterTransferGroupOwner",
    "beforeSetGroupInfo",
    "afterSetGroupInfo",
    "beforeSetGroupInfoEx",
    "afterSetGroupInfoEx",
)
CONVERSATION_HOOKS = (
    "beforeCreateSingleChatConversations",
    "afterCreateSingleChatConversations",
    "beforeCreateGroupChatConversations",
    "afterCreateGroupChatConversations",
)
PUSH_HOOKS = ("beforeOnlinePush", "beforeGroupOnlinePush", "beforeOfflinePush")


def enable(*hooks: str, **extra: str) -> dict[str, str]:
    """OPENIM_WEBHOOKS_<HOOK>_ENABLE=true for each hook, plus `extra` variables."""
    return {f"OPENIM_WEBHOOKS_{h.upper()}_ENABLE": "true" for h in hooks} | extra


@dataclass
class Hooked:
    """The REST API of a runtime with webhooks, the receiver they post to, and the after-hook worker."""

    api: Api
    runtime: Runtime
    receiver: WebhookReceiver
    worker: Worker

    async def chat(self, *users: str) -> Chat:
        """Register `users` and sign them in (clears what the registration posted)."""
        chat = await open_chat(self.api, *users)
        self.receiver.clear()
        return chat


Build = Callable[..., Awaitable[Hooked]]


@pytest.fixture
async def hooked_with(db_url: str, webhook_receiver: WebhookReceiver) -> AsyncIterator[Build]:
    """`await hooked_with(**env)`: a Hooked whose settings are `env` (OPENIM_* variables) over the receiver's URL."""
    async with AsyncExitStack() as stack:

        async def build(**env: str) -> Hooked:
            settings = load_settings(
                None,
                {
                    "OPENIM_DATABASE_URL": db_url,
                    "OPENIM_WEBHOOKS_URL": webhook_receiver.url,
                    "OPENIM_WEBHOOKS_RETRY_FIRSTDELAY": "0.05",
                    "OPENIM_WEBHOOKS_RETRY_MAXDELAY": "0.2",
                    **env,
                },
            )
            runtime = await Runtime.build(settings, clock=FakeClock())
            stack.push_async_callback(runtime.close)
            worker = Worker(runtime.queue, TOPIC_WEBHOOK, runtime.webhooks.delivery(), backoff_s=0.05)
            running = asyncio.ensure_future(worker.run())

            async def stop() -> None:
                worker.stop()
                await running

            stack.push_async_callback(stop)
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime.services)), base_url="http://t")
            )
            return Hooked(Api(http, runtime), runtime, webhook_receiver, worker)

        yield build


@pytest.fixture
async def hooked(hooked_with: Build) -> Hooked:
    """Every message, user, connection, friend and group hook on, failedContinue as shipped (true)."""
    return await hooked_with(**enable(*MSG_HOOKS, *USER_HOOKS, *CONNECTION_HOOKS, *FRIEND_HOOKS, *GROUP_HOOKS))
