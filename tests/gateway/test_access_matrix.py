"""The authorization matrix over every ReqIdentifier the gateway serves (expectations: tests/access.py `WS`).

The served identifiers are found by asking: each ReqIdentifier is sent once; the dispatcher answers the ones it
serves and closes the connection on the others (as OpenIM does). They must be exactly the table's keys.

Tokens are checked at the handshake: without one, with an expired one and with a kicked one there is no
connection to send anything on (1001-class ConnArgs refusal, 1501, 1506), and a live connection whose token is
kicked gets 2002 and is closed. Then, for each identifier, mallory's connection sends a request naming alice's
data: a `self` identifier answers 1002/1004 or shows nothing of alice's (her message text never appears in the
reply), while alice's own connection with the same request is not refused.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from google.protobuf.message import Message
from tests.access import WS
from tests.gateway.conftest import Gateway
from websockets.exceptions import InvalidStatus

from openim.infra.clock import FakeClock
from openim.protocol.constants import ContentType, MsgStatus, ReqIdentifier, SessionType
from openim.protocol.pb import msg_pb2, push_pb2, sdkws_pb2
from openim.services.auth import Caller

ALICE, MALLORY, CAROL = "alice", "mallory", "carol"
CONV = "si_alice_carol"
SECRET = b"SECRET-ws-alice"
DENIED = {1002, 1004}
SHOWS_THE_MESSAGE = {1002, 1005, 1007}  # the pulls: alice's own answer carries her message (the control)
ADMIN = Caller("imAdmin", 10, is_admin=True)


def _text(sender: str, recv: str, text: str) -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(
        sendID=sender,
        recvID=recv,
        clientMsgID=f"c-{text}",
        senderPlatformID=5,
        sessionType=SessionType.SINGLE_CHAT,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=json.dumps({"content": text}).encode(),
        createTime=1,
        status=MsgStatus.SENDING,
    )


# The request each identifier is sent with, naming alice's data (the sender of the frame is the connection's user).
REQUESTS: dict[int, Callable[[], Message]] = {
    1001: lambda: sdkws_pb2.GetMaxSeqReq(userID=ALICE),
    1002: lambda: sdkws_pb2.PullMessageBySeqsReq(
        userID=ALICE, seqRanges=[sdkws_pb2.SeqRange(conversationID=CONV, begin=1, end=10, num=10)]
    ),
    1003: lambda: _text(ALICE, CAROL, SECRET.decode() + "-again"),
    1004: lambda: sdkws_pb2.MsgData(sendID=ALICE),
    1005: lambda: msg_pb2.GetSeqMessageReq(
        userID=ALICE, conversations=[msg_pb2.ConversationSeqs(conversationID=CONV, seqs=[1])]
    ),
    1006: lambda: msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=ALICE),
    1007: lambda: msg_pb2.GetLastMessageReq(userID=ALICE, conversationIDs=[CONV]),
    2003: lambda: push_pb2.DelUserPushTokenReq(userID=ALICE, platformID=5),
    2004: lambda: sdkws_pb2.SetAppBackgroundStatusReq(userID=ALICE, isBackground=True),
    2005: lambda: sdkws_pb2.SubUserOnlineStatus(subscribeUserID=[ALICE]),
}


async def _served(gateway: Gateway, identifier: int) -> bool:
    """Whether the dispatcher answers `identifier` (an unknown one closes the connection without a reply)."""
    client = await gateway.connect(MALLORY)
    try:
        incr = await client.send_req(identifier, b"")
        reply = asyncio.ensure_future(client.replies[incr])
        closed = asyncio.ensure_future(client.ws.wait_closed())
        await asyncio.wait([reply, closed], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        closed.cancel()
        return reply.done()
    finally:
        await client.close()


async def test_the_table_covers_every_req_identifier(gateway: Gateway) -> None:
    """The identifiers the dispatcher serves are exactly tests/access.py WS; each has a request in REQUESTS."""
    served = {int(i) for i in ReqIdentifier if await _served(gateway, int(i))}
    assert served == set(WS), "add the served ReqIdentifiers to tests/access.py WS, and only those"
    assert set(REQUESTS) == set(WS)


async def test_no_expired_or_kicked_token_gets_a_connection(gateway: Gateway) -> None:
    """No token: ConnArgs refusal; a kicked token: 1506, and the live connection it opened gets 2002 and closes;
    an expired token: 1501."""
    with pytest.raises(InvalidStatus) as none:
        await gateway.raw(gateway.query(ALICE, ""))
    assert json.loads(none.value.response.body or b"")["errDlt"] == "token is empty"

    token = await gateway.token(ALICE)
    live = await gateway.connect(ALICE, token=token)
    await gateway.runtime.services.auth.force_logout(ADMIN, ALICE, 5)
    kick = await live.push()
    assert kick.req_identifier == ReqIdentifier.KICK_ONLINE_MSG
    await live.closed()
    with pytest.raises(InvalidStatus) as kicked:
        await gateway.raw(gateway.query(ALICE, token))
    assert json.loads(kicked.value.response.body or b"")["errCode"] == 1506

    expiring = await gateway.token(CAROL)
    clock = gateway.runtime.clock
    assert isinstance(clock, FakeClock)
    clock.advance(gateway.runtime.settings.tokenPolicy.expire + 86_400)
    with pytest.raises(InvalidStatus) as expired:
        await gateway.raw(gateway.query(CAROL, expiring))
    assert json.loads(expired.value.response.body or b"")["errCode"] == 1501


async def test_no_req_identifier_serves_another_users_data(gateway: Gateway) -> None:
    """mallory's requests naming alice are refused or show nothing of hers; alice's own are not refused."""
    for user in (ALICE, MALLORY, CAROL):
        await gateway.token(user)  # registers them
    alice = await gateway.connect(ALICE)
    sent = await alice.request(ReqIdentifier.SEND_MSG, _text(ALICE, CAROL, SECRET.decode()).SerializeToString())
    assert sent.err_code == 0, sent
    problems = []
    for identifier in sorted(WS):
        data = REQUESTS[identifier]().SerializeToString()
        mallory = await gateway.connect(MALLORY)
        answer = await mallory.request(identifier, data)
        await mallory.close()
        if WS[identifier].level == "self" and answer.err_code not in DENIED and SECRET in answer.data:
            problems.append(f"{identifier}: mallory sees alice's message: {answer}")
        if WS[identifier].level == "self" and answer.err_code == 0 and identifier == ReqIdentifier.SEND_MSG:
            problems.append(f"{identifier}: mallory sent as alice: {answer}")
        if identifier in (ReqIdentifier.LOGOUT_MSG,):
            continue  # alice's own logout would close her connection; its scoping is tests/gateway/test_dispatch.py
        own = await alice.request(identifier, data)
        if own.err_code == 1002:
            problems.append(f"{identifier}: alice was refused her own request: {own}")
        if identifier in SHOWS_THE_MESSAGE and SECRET not in own.data:
            problems.append(f"{identifier}: the control failed, alice's own answer lacks her message: {own}")
    assert not problems, "\n".join(problems)
    assert (await alice.request(ReqIdentifier.GET_NEWEST_SEQ, REQUESTS[1001]().SerializeToString())).err_code == 0
    await asyncio.sleep(0)
