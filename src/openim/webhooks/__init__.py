"""Webhooks: calls to the app server before and after events, as OpenIM's `webhooks.yml` (docs/integrations.md).

`Webhooks` holds every hook of `catalogue.COMMANDS` as an attribute named in snake_case
(`webhooks.before_send_single_msg`, `webhooks.after_user_online`, …): a `BeforeHook` or an `AfterHook`
(`hooks.py`, which shows how a hook is fired). runtime.py builds one from the `webhooks:` settings with
`Webhooks.from_config` and hands it to the services and the gateway; `Webhooks.off()` (every hook disabled, no
HTTP client) is what they get by default, in tests and tools.

    transport.py   POST {url}/{command}: headers, timeout, the answer and what makes a call fail
    hooks.py       BeforeHook.call (blocking rule, failedContinue) and AfterHook.fire (queued); content-type filters
    delivery.py    the queued after-hook job and the msgtransfer handler that posts it with retries
    catalogue.py   every hook's key, callbackCommand and kind

This package sits between the services and storage/infra in the layers: services and transports fire hooks, and
it uses only the job queue (infra) below it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openim.infra.queue import JobQueue
from openim.webhooks.catalogue import ATTENTION_HOOKS, COMMANDS, MSG_HOOKS, attribute_name, is_before
from openim.webhooks.delivery import TOPIC_WEBHOOK, Delivery, HookCall, encode
from openim.webhooks.hooks import AfterHook, BeforeHook, TypeFilter
from openim.webhooks.transport import MAX_TIMEOUT_S, Transport

__all__ = ["TOPIC_WEBHOOK", "AfterHook", "BeforeHook", "Delivery", "Transport", "Webhooks"]


class Webhooks:
    """Every hook, configured; see the package docstring."""

    before_send_single_msg: BeforeHook
    after_send_single_msg: AfterHook
    before_send_group_msg: BeforeHook
    after_send_group_msg: AfterHook
    before_msg_modify: BeforeHook
    after_msg_save_db: AfterHook
    after_group_msg_read: AfterHook
    after_single_msg_read: AfterHook
    after_revoke_msg: AfterHook
    after_group_msg_revoke: AfterHook
    before_user_register: BeforeHook
    after_user_register: AfterHook
    before_update_user_info: BeforeHook
    after_update_user_info: AfterHook
    before_update_user_info_ex: BeforeHook
    after_update_user_info_ex: AfterHook
    after_user_online: AfterHook
    after_user_offline: AfterHook
    after_user_kick_off: AfterHook
    before_offline_push: BeforeHook
    before_online_push: BeforeHook
    before_group_online_push: BeforeHook
    before_add_friend: BeforeHook
    after_add_friend: AfterHook
    before_add_friend_agree: BeforeHook
    after_add_friend_agree: AfterHook
    after_delete_friend: AfterHook
    before_import_friends: BeforeHook
    after_import_friends: AfterHook
    before_set_friend_remark: BeforeHook
    after_set_friend_remark: AfterHook
    before_add_black: BeforeHook
    after_remove_black: AfterHook
    before_create_group: BeforeHook
    after_create_group: AfterHook
    before_member_join_group: BeforeHook
    before_set_group_member_info: BeforeHook
    after_set_group_member_info: AfterHook
    after_quit_group: AfterHook
    after_kick_group_member: AfterHook
    after_dismiss_group: AfterHook
    before_apply_join_group: BeforeHook
    after_join_group: AfterHook
    before_invite_user_to_group: BeforeHook
    after_transfer_group_owner: AfterHook
    before_set_group_info: BeforeHook
    after_set_group_info: AfterHook
    before_set_group_info_ex: BeforeHook
    after_set_group_info_ex: AfterHook
    before_create_single_chat_conversations: BeforeHook
    after_create_single_chat_conversations: AfterHook
    before_create_group_chat_conversations: BeforeHook
    after_create_group_chat_conversations: AfterHook

    def __init__(self, transport: Transport | None, queue: JobQueue | None, config: Mapping[str, Any]) -> None:
        """`config` is the `webhooks:` section as plain data (`Settings.webhooks.model_dump()`); a missing hook is
        disabled. An enabled hook needs a transport (before) or a queue (after)."""
        self.transport = transport
        self.queue = queue
        self.timeouts: dict[str, float] = {}
        for name, command in COMMANDS.items():
            hook_config = config.get(name) or {}
            enable = bool(hook_config.get("enable", False))
            timeout_s = min(float(hook_config.get("timeout", 5)), MAX_TIMEOUT_S)
            self.timeouts[name] = timeout_s
            kw: dict[str, Any] = {"enable": enable, "timeout_s": timeout_s}
            if name in MSG_HOOKS:
                kw["types"] = TypeFilter(hook_config.get("allowedTypes", ()), hook_config.get("deniedTypes", ()))
            if name in ATTENTION_HOOKS:
                kw["attention_ids"] = hook_config.get("attentionIds", ())
            hook: BeforeHook | AfterHook
            if is_before(name):
                if enable and transport is None:
                    raise ValueError(f"webhook {name} is enabled but there is no transport")
                hook = BeforeHook(
                    name,
                    command,
                    transport or _NO_TRANSPORT,
                    failed_continue=bool(hook_config.get("failedContinue", True)),
                    **kw,
                )
            else:
                if enable and queue is None:
                    raise ValueError(f"webhook {name} is enabled but there is no job queue")
                hook = AfterHook(name, command, self._enqueue, **kw)
            setattr(self, attribute_name(name), hook)

    def reconfigure(self, config: Mapping[str, Any]) -> None:
        """Apply a changed `webhooks:` section in place (config reload): the url, and each hook's switch, timeout and
        filters. The services and the after-hook delivery keep this object and its transport, so the next call
        of any hook sees the change; calls already queued go to the new url."""
        if self.transport is not None:
            self.transport.url = str(config["url"]).rstrip("/")
        fresh = Webhooks(self.transport, self.queue, config)
        for name in COMMANDS:
            setattr(self, attribute_name(name), getattr(fresh, attribute_name(name)))
        self.timeouts.update(fresh.timeouts)

    @classmethod
    def off(cls) -> Webhooks:
        """Every hook disabled: nothing is ever posted or queued."""
        return cls(None, None, {})

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, queue: JobQueue, transport: Transport | None = None) -> Webhooks:
        """Hooks from the `webhooks:` settings (plain data); the transport posts to its `url`."""
        return cls(transport or Transport(str(config["url"])), queue, config)

    def hooks(self) -> list[BeforeHook | AfterHook]:
        """Every hook, in catalogue order."""
        return [getattr(self, attribute_name(name)) for name in COMMANDS]

    def enabled(self) -> list[str]:
        """The keys of the enabled hooks."""
        return [hook.name for hook in self.hooks() if hook.enable]

    def delivery(self) -> Delivery:
        """The msgtransfer handler of the queued after-hook calls."""
        if self.transport is None:
            raise ValueError("no transport: webhooks are off")
        return Delivery(self.transport, self.timeouts)

    async def close(self) -> None:
        if self.transport is not None:
            await self.transport.close()

    async def _enqueue(
        self, hook: str, command: str, body: Mapping[str, Any], operation_id: str, query: Mapping[str, str] | None
    ) -> None:
        assert self.queue is not None  # checked at construction for every enabled after hook
        await self.queue.enqueue(TOPIC_WEBHOOK, encode(HookCall(hook, command, body, operation_id, query)))


class _NoTransport(Transport):
    """The transport of a disabled hook: never used (a disabled hook is never called)."""

    def __init__(self) -> None:
        self.url = ""

    async def close(self) -> None:
        return None

    async def post(self, command: str, body: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
        raise RuntimeError(f"webhook {command} is disabled: nothing may post it")


_NO_TRANSPORT = _NoTransport()
