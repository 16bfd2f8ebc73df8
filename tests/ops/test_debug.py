"""Debug endpoints: a real CPU profile, heap top and task dump of the running process; loopback or admin token only."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from openim.ops.admin import Readiness, create_admin_app
from openim.ops.debug import is_loopback, task_dump
from openim.runtime import Runtime
from openim.services.user import UserDraft
from openim.settings import Settings

OUTSIDER = ("203.0.113.7", 50000)  # a TEST-NET-3 address: not loopback


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate({"database": {"url": f"sqlite:///{tmp_path / 'openim.db'}"}})
    rt = await Runtime.build(settings)
    yield rt
    await rt.close()


@pytest.fixture(autouse=True)
def _no_tracemalloc_after() -> Iterator[None]:
    yield
    tracemalloc.stop()


def _client(runtime: Runtime, client: tuple[str, int] = ("127.0.0.1", 40000)) -> httpx.AsyncClient:
    app = create_admin_app(Readiness.of_storage(runtime.storage), authenticate=runtime.services.auth.authenticate)
    transport = httpx.ASGITransport(app=app, client=client)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:6060", timeout=30)


def _spin_for_the_profiler(until: float) -> int:
    total = 0
    loop = asyncio.get_event_loop()
    while loop.time() < until:
        total += sum(i * i for i in range(200))
    return total


async def _busy(stop: asyncio.Event) -> None:
    """CPU work on the event loop in small slices, as request handling would be."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        _spin_for_the_profiler(loop.time() + 0.005)
        await asyncio.sleep(0)


async def test_cpu_profile_shows_where_the_loop_spends_its_time(runtime: Runtime) -> None:
    """A profile of N seconds names the function burning CPU on the loop, while the loop keeps serving it."""
    stop = asyncio.Event()
    worker = asyncio.create_task(_busy(stop))
    try:
        async with _client(runtime) as http:
            resp = await http.get("/debug/pprof/profile", params={"seconds": "0.5"})
    finally:
        stop.set()
        await worker
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    assert "_spin_for_the_profiler" in resp.text and "Duration:" in resp.text


async def test_cpu_profile_as_speedscope_and_html(runtime: Runtime) -> None:
    """format=speedscope returns speedscope's JSON (a flame graph file); format=html pyinstrument's page."""
    stop = asyncio.Event()
    worker = asyncio.create_task(_busy(stop))
    try:
        async with _client(runtime) as http:
            speedscope = await http.get("/debug/pprof/profile", params={"seconds": "0.3", "format": "speedscope"})
            html = await http.get("/debug/pprof/profile", params={"seconds": "0.1", "format": "html"})
    finally:
        stop.set()
        await worker
    document = json.loads(speedscope.content)
    assert "speedscope" in document["$schema"] and document["profiles"]
    assert any(f["name"] == "_spin_for_the_profiler" for f in document["shared"]["frames"])
    assert "attachment" in speedscope.headers["content-disposition"]
    assert html.status_code == 200 and "<html" in html.text.lower()


async def test_one_profile_at_a_time_and_bad_arguments(runtime: Runtime) -> None:
    """A second profile while one runs is 409; seconds out of range or an unknown format is 400."""
    async with _client(runtime) as http:
        first = asyncio.create_task(http.get("/debug/pprof/profile", params={"seconds": "0.5"}))
        await asyncio.sleep(0.1)
        second = await http.get("/debug/pprof/profile", params={"seconds": "0.1"})
        assert (await first).status_code == 200 and second.status_code == 409
        assert (await http.get("/debug/pprof/profile", params={"seconds": "9999"})).status_code == 400
        assert (await http.get("/debug/pprof/profile", params={"seconds": "x"})).status_code == 400
        assert (await http.get("/debug/pprof/profile", params={"format": "svg"})).status_code == 400


_kept: list[bytes] = []


def _allocate_for_the_heap_test() -> None:
    _kept.extend(bytes(1000) for _ in range(3000))  # ~3 MB from one line


async def test_heap_starts_tracemalloc_then_shows_the_allocating_line(runtime: Runtime) -> None:
    """The first call starts tracemalloc and says so; later calls rank the line that allocated the most."""
    assert not tracemalloc.is_tracing()
    async with _client(runtime) as http:
        first = await http.get("/debug/pprof/heap")
        assert "started now" in first.text and tracemalloc.is_tracing()
        _allocate_for_the_heap_test()
        second = await http.get("/debug/pprof/heap", params={"top": "5"})
        grown = await http.get("/debug/pprof/heap", params={"diff": "1"})
        by_trace = await http.get("/debug/pprof/heap", params={"group": "traceback", "top": "3"})
        _kept.clear()
        stopped = await http.get("/debug/pprof/heap", params={"stop": "1"})
    assert "started now" not in second.text and "traced Python memory" in second.text
    top_site = second.text.splitlines()[2]  # the line after the two header lines
    assert "test_debug.py" in top_site and "bytes(1000)" in top_site
    assert "by growth since the previous call" in grown.text
    assert "test_debug.py" in by_trace.text
    assert stopped.text == "tracemalloc stopped\n" and not tracemalloc.is_tracing()


async def _parked_for_the_dump(event: asyncio.Event) -> None:
    await event.wait()


async def test_goroutine_dump_lists_every_task_with_its_await_chain(runtime: Runtime) -> None:
    """Every asyncio task appears with the coroutine frames it is suspended in; identical stacks are counted."""
    event = asyncio.Event()
    parked = [asyncio.create_task(_parked_for_the_dump(event), name=f"parked-{i}") for i in range(3)]
    await asyncio.sleep(0)
    try:
        async with _client(runtime) as http:
            grouped = await http.get("/debug/pprof/goroutine")
            each = await http.get("/debug/pprof/goroutine", params={"debug": "2", "format": "json"})
    finally:
        event.set()
        await asyncio.gather(*parked)
    assert grouped.status_code == 200
    assert "3 task(s): _parked_for_the_dump e.g. parked-0, parked-1, parked-2" in grouped.text
    assert "in _parked_for_the_dump" in grouped.text and "in Event.wait" in grouped.text
    assert "thread 'MainThread'" in grouped.text
    tasks = {t["name"]: t for t in each.json()["tasks"]}
    assert {"parked-0", "parked-1", "parked-2"} <= set(tasks)
    assert tasks["parked-1"]["stack"][0].endswith("in _parked_for_the_dump")
    assert tasks["parked-1"]["stack"][-1].endswith("in Event.wait")


def test_task_dump_counts_tasks() -> None:
    """task_dump's taskCount is the number of tasks of the running loop."""

    async def main() -> int:
        return int(task_dump()["taskCount"])

    assert asyncio.run(main()) == 1


def test_loopback_addresses() -> None:
    """127.0.0.0/8, ::1 and IPv4-mapped loopback count as local; anything else, or no address, does not."""
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"))
    assert not any(is_loopback(h) for h in ("203.0.113.7", "10.0.0.1", "::ffff:10.0.0.1", "", None, "localhost"))


async def test_non_loopback_callers_need_an_admin_token(runtime: Runtime) -> None:
    """From another address: no token or a user's token is 403; an admin token verified by auth is let in."""
    auth = runtime.services.auth
    admin_token = (await auth.get_admin_token("openIM123", "imAdmin")).token
    admin = await auth.authenticate(admin_token)
    await runtime.services.user.register(admin, [UserDraft("alice", nickname="alice")])
    user_token = (await auth.get_user_token(admin, "alice", 5)).token
    async with _client(runtime, client=OUTSIDER) as http:
        for path in ("/debug/pprof/goroutine", "/debug/pprof/heap", "/debug/pprof/profile?seconds=0.1"):
            assert (await http.get(path)).status_code == 403
        assert (await http.get("/debug/pprof/goroutine", headers={"token": "garbage"})).status_code == 403
        refused = await http.get("/debug/pprof/goroutine", headers={"token": user_token})
        assert refused.status_code == 403 and "not an admin" in refused.json()["error"]
        allowed = await http.get("/debug/pprof/goroutine", headers={"token": admin_token})
        assert allowed.status_code == 200 and "asyncio tasks" in allowed.text
        assert (await http.get("/metrics")).status_code == 200  # only /debug is guarded
