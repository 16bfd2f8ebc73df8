"""Debug endpoints of the admin role — OpenIM's `go tool pprof :6060/debug/pprof/*`, for a Python process.

- `/debug/pprof/profile?seconds=30[&format=text|speedscope|html]`: a CPU profile of the event-loop thread (where
  every role runs) over N seconds, by pyinstrument's statistical profiler, while the loop keeps serving. Text is a
  call tree a person reads top-down; `speedscope` is JSON for https://www.speedscope.app (a flame graph); `html`
  is pyinstrument's interactive page. One profile at a time (409 otherwise). Work in other threads (aiosqlite's
  SQLite thread) appears as time awaiting. The profiler's hook costs CPU only while a profile runs.
- `/debug/pprof/heap?top=30[&group=lineno|traceback|filename][&diff=1][&stop=1]`: the top allocation sites of live
  Python memory by tracemalloc. tracemalloc is off by default (it costs memory and CPU on every allocation): the
  first call starts it and says so, so only allocations made after that call are seen — call again later.
  `diff=1` shows growth since the previous call (the leak hunt); `stop=1` stops tracing and frees its memory.
- `/debug/pprof/goroutine[?debug=1|2][&format=json]`: every asyncio task with its await chain (the coroutine
  frames down to the future it waits on) and every thread's stack; `debug=1` groups identical stacks with a
  count (a growing count is the "goroutine leak"), `debug=2` lists each task.

Access (`guard`): from a loopback address, or with header `token` carrying an admin token (verified by the auth
service). Do not put the admin port behind a local reverse proxy: every request would then come from loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import linecache
import logging
import os
import resource
import sys
import threading
import tracemalloc
import types
from collections.abc import Awaitable, Callable
from typing import Any

from pyinstrument import Profiler
from pyinstrument.renderers import SpeedscopeRenderer
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from openim.protocol.errors import OpenIMError
from openim.services.auth import Caller

__all__ = [
    "MAX_PROFILE_SECONDS",
    "Authenticate",
    "cpu_profile",
    "debug_routes",
    "heap_report",
    "is_loopback",
    "task_dump",
]

log = logging.getLogger("openim.ops.debug")

MAX_PROFILE_SECONDS = 600.0
HEAP_FRAMES = 8  # frames kept per allocation by tracemalloc (for group=traceback)

Authenticate = Callable[[str], Awaitable[Caller]]

# ---- CPU profile ------------------------------------------------------------------------------------------

_profiling: list[float] = []  # non-empty while a profile runs (one per process: pyinstrument hooks the thread)


async def cpu_profile(seconds: float, *, interval: float = 0.001) -> Profiler:
    """Profile the running loop's thread for `seconds`; the loop serves as usual meanwhile."""
    profiler = Profiler(interval=interval, async_mode="disabled")
    profiler.start()
    try:
        await asyncio.sleep(seconds)
    finally:
        profiler.stop()
    return profiler


# ---- heap ---------------------------------------------------------------------------------------------------

_last_snapshot: list[tracemalloc.Snapshot] = []
_HEAP_FILTERS = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


def heap_report(*, top: int = 30, group: str = "lineno", diff: bool = False) -> str:
    """The top allocation sites as text; starts tracemalloc (and says so) when it was not running."""
    lines: list[str] = []
    if not tracemalloc.is_tracing():
        tracemalloc.start(HEAP_FRAMES)
        _last_snapshot.clear()
        lines.append(
            "tracemalloc was not running: started now. Only allocations made from now on are traced; "
            "call again later to see what grows (diff=1 compares with the previous call). "
            "Tracing costs memory and CPU on every allocation until /debug/pprof/heap?stop=1."
        )
    snapshot = tracemalloc.take_snapshot().filter_traces(_HEAP_FILTERS)
    current, peak = tracemalloc.get_traced_memory()
    lines.append(
        f"traced Python memory: {current / 2**20:.1f} MiB now, {peak / 2**20:.1f} MiB peak; "
        f"process RSS {_rss_bytes() / 2**20:.1f} MiB; "
        f"tracemalloc's own overhead {tracemalloc.get_tracemalloc_memory() / 2**20:.1f} MiB"
    )
    previous = _last_snapshot[0] if _last_snapshot else None
    _last_snapshot[:] = [snapshot]
    if diff and previous is not None:
        lines.append(f"top {top} by growth since the previous call, grouped by {group}:")
        for change in snapshot.compare_to(previous, group)[:top]:
            lines.append(
                f"{change.size_diff / 1024:+10.1f} KiB {change.count_diff:+8d} blocks  now {change.size / 1024:.1f} KiB"
                f"  {_where(change.traceback, group)}"
            )
    else:
        if diff:
            lines.append("(no previous snapshot: showing the top sites; call again with diff=1)")
        lines.append(f"top {top} allocation sites by size, grouped by {group}:")
        for stat in snapshot.statistics(group)[:top]:
            average = stat.size / stat.count if stat.count else 0
            lines.append(
                f"{stat.size / 1024:10.1f} KiB {stat.count:8d} blocks {average:8.0f} B avg"
                f"  {_where(stat.traceback, group)}"
            )
    return "\n".join(lines) + "\n"


def _where(traceback: tracemalloc.Traceback, group: str) -> str:
    if group == "traceback":
        return "\n" + "\n".join(f"        {line}" for line in traceback.format())
    frame = traceback[0]
    if group == "filename":
        return frame.filename
    code = linecache.getline(frame.filename, frame.lineno).strip()
    return f"{frame.filename}:{frame.lineno}" + (f"  {code}" if code else "")


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the peak instead
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---- tasks and threads --------------------------------------------------------------------------------------


def _await_chain(coro: object) -> tuple[list[types.FrameType], str]:
    """The frames from a task's coroutine down its `await`s, and what the innermost one waits on."""
    frames: list[types.FrameType] = []
    obj: object = coro
    waits_on = ""
    while obj is not None:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or getattr(obj, "ag_frame", None)
        if isinstance(frame, types.FrameType):
            frames.append(frame)
        nxt = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None) or getattr(obj, "ag_await", None)
        if nxt is None and not isinstance(obj, types.CoroutineType | types.GeneratorType | types.AsyncGeneratorType):
            # a plain future's iterator says nothing more than the frame above it; other awaitables may
            waits_on = "" if type(obj).__name__ == "FutureIter" else _short_repr(obj)
        obj = nxt
    return frames, waits_on


def _short_repr(obj: object) -> str:
    text = repr(obj)
    return text if len(text) <= 200 else text[:197] + "..."


def _frame_lines(frames: list[types.FrameType]) -> list[str]:
    return [f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_qualname}" for f in frames]


def task_dump(*, grouped: bool = True) -> dict[str, Any]:
    """Every asyncio task of the running loop (await chain, state) and every thread's stack, as plain data."""
    tasks: list[dict[str, Any]] = []
    for task in sorted(asyncio.all_tasks(), key=lambda t: t.get_name()):
        frames, waits_on = _await_chain(task.get_coro())
        coro = task.get_coro()
        tasks.append(
            {
                "name": task.get_name(),
                "coro": getattr(getattr(coro, "cr_code", None), "co_qualname", type(coro).__name__),
                "state": "cancelling" if task.cancelling() else "pending",
                "stack": _frame_lines(frames),
                "waitsOn": waits_on,
            }
        )
    names = {t.ident: t.name for t in threading.enumerate()}
    threads = []
    for ident, frame in sys._current_frames().items():
        stack: list[types.FrameType] = []
        f: types.FrameType | None = frame
        while f is not None:
            stack.append(f)
            f = f.f_back
        threads.append({"name": names.get(ident, str(ident)), "stack": _frame_lines(stack[::-1])})
    result: dict[str, Any] = {"taskCount": len(tasks), "threads": threads}
    if grouped:
        groups: dict[tuple[str, ...], dict[str, Any]] = {}
        for task_info in tasks:
            key = (task_info["coro"], *task_info["stack"])
            entry = groups.setdefault(
                key,
                {
                    "count": 0,
                    "coro": task_info["coro"],
                    "stack": task_info["stack"],
                    "waitsOn": task_info["waitsOn"],
                    "names": [],
                },
            )
            entry["count"] += 1
            if len(entry["names"]) < 5:
                entry["names"].append(task_info["name"])
        result["groups"] = sorted(groups.values(), key=lambda g: -int(g["count"]))
    else:
        result["tasks"] = tasks
    return result


def render_task_dump(dump: dict[str, Any]) -> str:
    """The task dump as text, in the spirit of Go's goroutine profile."""
    out = [f"{dump['taskCount']} asyncio tasks, {len(dump['threads'])} threads", ""]
    for entry in dump.get("groups", dump.get("tasks", [])):
        count = entry.get("count")
        head = f"{count} task(s)" if count is not None else f"task {entry['name']!r}"
        names = f" e.g. {', '.join(entry['names'])}" if "names" in entry else f" [{entry['state']}]"
        out.append(f"{head}: {entry['coro']}{names}")
        out.extend(f"    {line}" for line in entry["stack"])
        if entry["waitsOn"]:
            out.append(f"    waiting on {entry['waitsOn']}")
        out.append("")
    for thread in dump["threads"]:
        out.append(f"thread {thread['name']!r}:")
        out.extend(f"    {line}" for line in thread["stack"])
        out.append("")
    return "\n".join(out)


# ---- access and routes --------------------------------------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything else or no address."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


async def _refusal(request: Request, authenticate: Authenticate | None) -> Response | None:
    """None when the caller may use the debug endpoints (and the use is logged), else the 403 answer."""
    client = request.client
    host = client.host if client else None
    who = f"{request.url.path}?{request.url.query} from {host}"
    if is_loopback(host):
        log.info("debug: %s", who)
        return None
    token = request.headers.get("token", "")
    refusal = ""
    if not token:
        refusal = "debug endpoints: loopback only, or header token with an admin token"
    elif authenticate is None:
        refusal = "debug endpoints: no auth service to verify the token"
    else:
        try:
            caller = await authenticate(token)
        except OpenIMError as exc:
            refusal = f"token refused: {exc.code} {exc.message}"
        else:
            if not caller.is_admin:
                refusal = "token refused: not an admin token"
            else:
                log.info("debug: %s (admin %s)", who, caller.user_id, extra={"userID": caller.user_id})
                return None
    log.warning("debug: refused %s: %s", who, refusal)
    return JSONResponse({"error": refusal}, 403)


def _number(request: Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = float(raw)  # ValueError → 400 by the caller
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return value


def debug_routes(authenticate: Authenticate | None) -> list[Route]:
    """The /debug/pprof/* routes, each behind the loopback-or-admin-token guard."""

    async def profile(request: Request) -> Response:
        refused = await _refusal(request, authenticate)
        if refused is not None:
            return refused
        try:
            seconds = _number(request, "seconds", 30.0, 0.01, MAX_PROFILE_SECONDS)
        except ValueError as exc:
            return PlainTextResponse(f"bad seconds: {exc}\n", 400)
        fmt = request.query_params.get("format", "text")
        if fmt not in ("text", "speedscope", "html"):
            return PlainTextResponse("format must be text, speedscope or html\n", 400)
        if _profiling:
            return PlainTextResponse("a profile is already running; try again when it ends\n", 409)
        _profiling.append(seconds)
        try:
            profiler = await cpu_profile(seconds)
        finally:
            _profiling.clear()
        if fmt == "speedscope":
            return Response(
                profiler.output(SpeedscopeRenderer()),
                media_type="application/json",
                headers={"Content-Disposition": 'attachment; filename="openim-profile.speedscope.json"'},
            )
        if fmt == "html":
            return HTMLResponse(profiler.output_html())
        return PlainTextResponse(profiler.output_text(unicode=True, color=False))

    async def heap(request: Request) -> Response:
        refused = await _refusal(request, authenticate)
        if refused is not None:
            return refused
        if request.query_params.get("stop") in ("1", "true"):
            was = tracemalloc.is_tracing()
            tracemalloc.stop()
            _last_snapshot.clear()
            return PlainTextResponse("tracemalloc stopped\n" if was else "tracemalloc was not running\n")
        group = request.query_params.get("group", "lineno")
        if group not in ("lineno", "traceback", "filename"):
            return PlainTextResponse("group must be lineno, traceback or filename\n", 400)
        try:
            top = int(_number(request, "top", 30, 1, 1000))
        except ValueError as exc:
            return PlainTextResponse(f"bad top: {exc}\n", 400)
        diff = request.query_params.get("diff") in ("1", "true")
        return PlainTextResponse(heap_report(top=top, group=group, diff=diff))

    async def goroutine(request: Request) -> Response:
        refused = await _refusal(request, authenticate)
        if refused is not None:
            return refused
        dump = task_dump(grouped=request.query_params.get("debug", "1") != "2")
        if request.query_params.get("format") == "json":
            return JSONResponse(dump)
        return PlainTextResponse(render_task_dump(dump))

    return [
        Route("/debug/pprof/profile", profile),
        Route("/debug/pprof/heap", heap),
        Route("/debug/pprof/goroutine", goroutine),
    ]
