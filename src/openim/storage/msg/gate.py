"""What a single-chat send must know before its append, read in one transaction.

OpenIM asks for the receiver, the sender, the receiver's blacklist, (with friendVerify) the receiver's friend list
and the receiver's conversation options one call at a time (rpc/msg/verify.go); on the hot path that is four
round trips per message. Here they are one read transaction; the msg service applies the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.storage.rows import User
from openim.storage.schema import black, conversation, friend, user
from openim.storage.user import USER_COLUMNS, user_of

__all__ = ["SingleChatGate", "read_single_chat_gate"]


@dataclass(frozen=True, slots=True)
class SingleChatGate:
    """The facts of one (sender → receiver) single chat; None/False where there is nothing."""

    sender: User | None
    receiver: User | None
    blocked: bool  # the receiver has the sender in its blacklist
    friends: bool  # the sender is in the receiver's friend list (read only when asked for)
    recv_msg_opt: int | None  # the receiver's recvMsgOpt for this conversation, None without a row


async def read_single_chat_gate(
    conn: AsyncConnection, send_id: str, recv_id: str, conversation_id: str, *, with_friendship: bool
) -> SingleChatGate:
    users = {
        row.user_id: user_of(row)
        for row in await conn.execute(select(*USER_COLUMNS).where(user.c.user_id.in_({send_id, recv_id})))
    }
    blocked = (
        await conn.execute(
            select(black.c.owner_user_id).where(black.c.owner_user_id == recv_id, black.c.block_user_id == send_id)
        )
    ).first() is not None
    friends = (
        with_friendship
        and (
            await conn.execute(
                select(friend.c.owner_user_id).where(
                    friend.c.owner_user_id == recv_id, friend.c.friend_user_id == send_id
                )
            )
        ).first()
        is not None
    )
    recv_msg_opt = (
        await conn.execute(
            select(conversation.c.recv_msg_opt).where(
                conversation.c.owner_user_id == recv_id, conversation.c.conversation_id == conversation_id
            )
        )
    ).scalar()
    return SingleChatGate(users.get(send_id), users.get(recv_id), blocked, friends, recv_msg_opt)
