"""A year of users, groups and messages with answers known by hand, for the /statistics tests.

Year 2025 (UTC), days d = 0..364:
- users u0..u9, ui registered on day 30*i at noon;
- groups g0 (day 10), g1 (day 100), g2 (day 200, dismissed later: still counted), g3 (day 400, next year);
- single chats: sender ui (i < 6) sends (d + i) % 4 messages to u(i+1) on day d. Over 365 days that is
  91 cycles of 0+1+2+3 plus day 364's i % 4: 546 + i % 4 each, 3283 in all; day 0 and day 364 have 7 each;
- groups: gj (j < 3) gets one message from u(6+j) on each day d with d % (j+2) == 0: 183, 122 and 92, 397 in
  all; day 0 has 3, day 364 has 2 (g0 and g2);
- notifications: u9 sends one a day into `n_u0_u9` with a single chat's session type: never counted;
- one more single message from u0 at 2026-01-01T00:00:00.000Z (just outside the year).
"""

from __future__ import annotations

import itertools

from sqlalchemy import update
from tests.factories import make_group

from openim.protocol.constants import ContentType, GroupStatus, SessionType
from openim.protocol.ids import group_conversation_id, single_conversation_id
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage import Storage
from openim.storage.msg import NewMsg
from openim.storage.rows import User
from openim.storage.schema import group

DAY = 86_400_000
YEAR_START = 1_735_689_600_000  # 2025-01-01T00:00:00Z
YEAR_END = YEAR_START + 365 * DAY  # 2026-01-01T00:00:00Z
USERS = [f"u{i}" for i in range(10)]
GROUPS = {"g0": 10, "g1": 100, "g2": 200, "g3": 400}  # groupID → day created

SINGLE_BY_SENDER = {f"u{i}": 546 + i % 4 for i in range(6)}
GROUP_BY_GROUP = {"g0": 183, "g1": 122, "g2": 92}
GROUP_BY_SENDER = {"u6": 183, "u7": 122, "u8": 92}
SINGLE_TOTAL = 3283
GROUP_TOTAL = 397

_ids = itertools.count(1)


def day_ms(d: int) -> int:
    return YEAR_START + d * DAY


def _msg(conversation_id: str, send: str, send_time: int, *, recv: str = "", group_id: str = "") -> NewMsg:
    session = SessionType.READ_GROUP_CHAT if group_id else SessionType.SINGLE_CHAT
    n = next(_ids)
    m = MsgData(
        sendID=send,
        recvID=recv,
        groupID=group_id,
        clientMsgID=f"c{n}",
        serverMsgID=f"s{n}",
        sessionType=session,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=b'{"content":"x"}',
        sendTime=send_time,
    )
    owners = (send, recv) if recv else ()
    return NewMsg(conversation_id, m, owners=owners)


def messages() -> list[NewMsg]:
    out: list[NewMsg] = []
    for d in range(365):
        for i in range(6):
            send, recv = f"u{i}", f"u{i + 1}"
            for k in range((d + i) % 4):
                t = day_ms(d) + (i * 3600 + k * 60) * 1000
                out.append(_msg(single_conversation_id(send, recv), send, t, recv=recv))
        for j in range(3):
            if d % (j + 2) == 0:
                gid = f"g{j}"
                out.append(_msg(group_conversation_id(gid), f"u{6 + j}", day_ms(d) + 7 * 3600_000, group_id=gid))
        out.append(_msg("n_u0_u9", "u9", day_ms(d) + 9 * 3600_000, recv="u0"))
    out.append(_msg(single_conversation_id("u0", "u1"), "u0", YEAR_END, recv="u1"))
    return out


async def generate(storage: Storage) -> None:
    """Store the year described above."""
    await storage.user.create_users(
        [User(u, f"nick-{u}", "", "", 0, 0, day_ms(30 * i) + DAY // 2) for i, u in enumerate(USERS)]
    )
    for gid, d in GROUPS.items():
        await make_group(storage, gid, "u0", now=day_ms(d), name=f"name-{gid}")
    async with storage.db.write("test.dismiss") as conn:
        await conn.execute(update(group).where(group.c.group_id == "g2").values(status=int(GroupStatus.DISMISSED)))
    news = messages()
    for start in range(0, len(news), 500):
        await storage.msg.append_batch(news[start : start + 500])
