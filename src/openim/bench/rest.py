"""The `rest` scenario: /user/get_users_info from C clients, one request in flight each, for `seconds`.

Each client is a user with its own token and keep-alive connection asking for its own profile, as the SDKs do
at login. A reply with errCode ≠ 0 (or no reply) counts in `lost`.
"""

from __future__ import annotations

import asyncio
import time

import orjson

from openim.bench.accounts import Accounts, User, run_prefix
from openim.bench.http import ApiError, HttpConn
from openim.bench.load import Options
from openim.bench.stats import ProcStat, Result, percentile_ms

__all__ = ["rest"]

_PATH = "/user/get_users_info"


async def rest(opts: Options) -> Result:
    proc = ProcStat(opts.server_pid)
    accounts = Accounts(opts.api, opts.secret, opts.admin_user)
    prefix = run_prefix()
    users = await accounts.register([f"{prefix}{i}" for i in range(opts.concurrency)], opts.platform_id)
    latencies: list[float] = []  # one per reply
    errors = 0  # replies with errCode ≠ 0 or without the user asked for
    broken = 0  # requests without a reply (connection reset, not HTTP 200)
    sent = 0
    cpu0, start = proc.sample(), time.perf_counter()
    deadline = start + opts.seconds

    async def client(user: User) -> None:
        nonlocal errors, broken, sent
        conn = HttpConn(opts.api)
        request = conn.request_bytes(
            _PATH, orjson.dumps({"userIDs": [user.user_id]}), user.token, f"bench-{user.user_id}"
        )
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                sent += 1
                try:
                    body = await conn.send_raw(request)
                except (ApiError, OSError, asyncio.IncompleteReadError):
                    broken += 1
                    await conn.close()
                    continue
                latencies.append(time.perf_counter() - began)
                if not _answers(body, user.user_id):
                    errors += 1
        finally:
            await conn.close()

    await asyncio.gather(*(client(u) for u in users))
    elapsed = time.perf_counter() - start
    cpu1 = proc.sample()
    ok = len(latencies) - errors
    result = Result(
        "rest",
        sent_per_s=sent / elapsed,
        delivered_per_s=ok / elapsed,
        lost=errors + broken,
        p50_ms=percentile_ms(latencies, 50),
        p99_ms=percentile_ms(latencies, 99),
        seconds=elapsed,
        extra={"route": _PATH, "concurrency": opts.concurrency, "requests": sent, "ok": ok, "errors": errors + broken},
    )
    result.cpu_per(cpu0, cpu1, ok)
    await accounts.close()
    return result


def _answers(body: bytes, user_id: str) -> bool:
    """The envelope says errCode 0 and carries the profile asked for."""
    try:
        reply = orjson.loads(body)
        infos = reply["data"]["usersInfo"]
        return bool(reply["errCode"] == 0 and infos and infos[0]["userID"] == user_id)
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        return False
