"""Offline push providers: `Pusher` is what the msgtransfer role hands offline recipients to.

`LogPusher` is the default and the only provider here: it logs what would be pushed. Real providers (FCM,
APNs, Getui, JPush) need vendor credentials and outbound access to their services, which this project cannot
run or test; an adapter for one keeps the `Pusher` protocol and is chosen in runtime.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = ["LogPusher", "Pusher"]

logger = logging.getLogger("openim.infra.pushers")


class Pusher(Protocol):
    async def push(self, user_ids: Sequence[str], msg: MsgData, *, conversation_id: str, operation_id: str) -> None:
        """Send a notification of `msg` to the devices of `user_ids`; raises when the provider failed (retried)."""
        ...


class LogPusher:
    """Logs each offline push instead of sending it: FCM/APNs cannot run here, so nothing leaves the process.

    One INFO line per push on the logger `openim.infra.pushers`, naming the users, conversation, seq and title.
    """

    async def push(self, user_ids: Sequence[str], msg: MsgData, *, conversation_id: str, operation_id: str) -> None:
        """Log what would be pushed."""
        logger.info(
            "offline push (log only) to %s: conversation %s seq %d from %s, title %r",
            ",".join(user_ids),
            conversation_id,
            msg.seq,
            msg.sendID,
            msg.offlinePushInfo.title,
            extra={"userIDs": list(user_ids), "conversationID": conversation_id, "operationID": operation_id},
        )
