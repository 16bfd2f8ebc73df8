"""The msg service (services/msg): send, sync, revoke, read receipts, deletes and clears — the message path.

`MsgService` is assembled from one part per concern, each a module of this package: `core` (routing,
storing through the group-commit writer, pushes after commit, the seams to the social graph), `send`
(the SendMsg pipeline), `hooks` (the message webhooks), `simple` (/msg/send_simple_msg, a bot's answer),
`batch` (one message to many users, a transaction per chunk), `search` (search_msg), `expiry` (chat-record
retention, for the scheduled job), `sync`
(1001/1002/1005/1006/1007), `manage` (revoke, read, delete, clear) and `tips`
(notification MsgData). Transports call only `MsgService`; the msg service calls no other service.

Wiring (runtime.py): the writer's `on_commit` is the service's, so build them in this order::

    service: MsgService
    writer = MsgWriter(storage.msg, on_commit=lambda batch: service.on_commit(batch))
    service = MsgService(storage, writer, bus, clock, admin_user_ids=..., friend_verify=..., queue=..., limits=...)

With a `queue` (infra/queue.py), each committed message whose `offlinePush` option is on also becomes an
offline-push job for the msgtransfer role (`offline_push`, docs/protocol/messages.md §4 step 10).
"""

from __future__ import annotations

from openim.infra.bus import Push
from openim.services.msg.batch import BatchMixin, BatchResult
from openim.services.msg.expiry import Expired, ExpiryMixin
from openim.services.msg.limits import MsgLimits
from openim.services.msg.manage import ManageMixin
from openim.services.msg.search import SearchMixin
from openim.services.msg.send import SendMixin
from openim.services.msg.simple import SimpleMixin
from openim.services.msg.sync import SyncMixin
from openim.services.msg.tips import build_notification, notification_options

__all__ = [
    "BatchResult",
    "Expired",
    "MsgLimits",
    "MsgService",
    "Push",
    "build_notification",
    "notification_options",
]


class MsgService(BatchMixin, SimpleMixin, SendMixin, SearchMixin, SyncMixin, ManageMixin, ExpiryMixin):
    """Every msg operation of OpenIM's msg RPC that clients reach, over storage, the writer and the bus.

    Built as `MsgService(storage, writer, bus, clock, *, admin_user_ids, friend_verify=False,
    send_status=None, queue=None, limits=MsgLimits())`; see the package docstring for the wiring.
    """
