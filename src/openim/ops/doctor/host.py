"""Doctor checks of the machine: our ports and who holds them, open-file limit, somaxconn, disk, memory.

The port check is the guide's `netstat -tlnp | grep 10002` and `lsof -i :10002`: a port held by openim is
fine (the server is running), a port held by anything else names that process. Limits are read from the
running openim process when one holds our ports (`/proc/<pid>/limits`: what systemd's LimitNOFILE gave it),
else from this shell, which is what a server started here would inherit.
"""

from __future__ import annotations

import os
import pwd
import resource
import shutil
from pathlib import Path

from openim.ops.doctor import Check, Context, Status, sockets
from openim.ops.doctor.database import sqlite_file

__all__ = ["LISTEN_BACKLOG", "check_disks", "check_memory", "check_open_files", "check_ports", "check_somaxconn"]

LISTEN_BACKLOG = 2048  # what runtime.py passes to listen(); the kernel caps it at net.core.somaxconn


def _listeners(ctx: Context) -> list[tuple[str, str, str, int]]:
    """(role, config key, listen IP, port) of every socket a full `openim start` binds."""
    s = ctx.settings
    found = [("api", "api.ports", s.api.listenIP, p) for p in s.api.ports]
    found += [("msggateway", "msggateway.ports", s.msggateway.listenIP, p) for p in s.msggateway.ports]
    if s.admin.port:
        found.append(("admin", "admin.port", s.admin.listenIP, s.admin.port))
    return found


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_ports(ctx: Context) -> list[Check]:
    """Each configured port: free, held by openim, or held by another process, named as lsof would."""
    wanted = _listeners(ctx)
    live = sockets.listeners(ctx.proc)
    if live is None:
        return [_probe(role, key, ip, port) for role, key, ip, port in wanted]
    relevant = [(w, [s for s in live if s.port == w[3] and sockets.overlaps(w[2], s.address)]) for w in wanted]
    owners = sockets.holders({s.inode for _, found in relevant for s in found}, ctx.proc)
    checks = []
    for (role, key, ip, port), found in relevant:
        name = f"port.{role}:{port}"
        if not found:
            checks.append(Check(name, Status.OK, f"{ip}:{port} is free"))
            continue
        procs = {h.pid: h for s in found for h in owners.get(s.inode, [])}
        where = ", ".join(sorted({f"{s.address}:{s.port}" for s in found}))
        others = [h for h in procs.values() if not sockets.is_openim(h.argv)]
        if procs and not others:
            ctx.servers.update({h.pid: h.argv for h in procs.values()})
            ctx.served.add(port)
            pids = ", ".join(f"pid {h.pid}: {h.command}" for h in procs.values())
            checks.append(Check(name, Status.OK, f"{where} is held by openim ({pids}): the server is running"))
            continue
        variable = "OPENIM_" + key.replace(".", "_").upper()
        move = f"or give {role} another port ({key} in the config, or ${variable})"
        if others:
            named = "; ".join(f"pid {h.pid} ({_user(h.uid)}): {h.command}" for h in others)
            kill = " ".join(str(h.pid) for h in others)
            remedy = f"stop it (`kill {kill}`; the guide's `kill -9` skips a clean shutdown) {move}"
            checks.append(Check(name, Status.FAIL, f"{where} is held by another program, {named}", remedy))
            continue
        uids = ", ".join(sorted({_user(s.uid) for s in found}))
        checks.append(
            Check(
                name,
                Status.FAIL,
                f"{where} is held by a process of {uids} that this user cannot inspect",
                f"run `sudo openim doctor` (or `sudo ss -ltnp 'sport = :{port}'`) to name it; stop it {move}",
            )
        )
    split = _split_roles(ctx, relevant, owners)
    return checks + ([split] if split is not None else [])


def _split_roles(
    ctx: Context,
    relevant: list[tuple[tuple[str, str, str, int], list[sockets.Listener]]],
    owners: dict[int, list[sockets.Holder]],
) -> Check | None:
    """Our ports served by more than one openim process: fine when they share state through Redis, else FAIL."""
    by_pid: dict[int, list[str]] = {}
    for (role, _key, _ip, port), found in relevant:
        for holder in {h.pid: h for s in found for h in owners.get(s.inode, [])}.values():
            if sockets.is_openim(holder.argv):
                by_pid.setdefault(holder.pid, []).append(f"{role} :{port}")
    if len(by_pid) < 2:
        return None
    served = "; ".join(f"pid {pid}: {', '.join(roles)}" for pid, roles in sorted(by_pid.items()))
    # This judges the configuration the doctor loaded; each process must be started with the same redis.url.
    if ctx.settings.redis.url and ctx.settings.database.url.startswith("sqlite"):
        return Check(
            "roles",
            Status.WARN,
            f"roles split over processes ({served}) share state through Redis, but the database is a SQLite file: "
            "only processes on this host can open it, and their writes wait for each other's locks",
            'use PostgreSQL (database.url) for split roles; docs/operations.md, "Split roles"',
        )
    if ctx.settings.redis.url:
        return Check("roles", Status.OK, f"roles split over processes ({served}), sharing state through Redis")
    return Check(
        "roles",
        Status.FAIL,
        f"our ports are served by {len(by_pid)} openim processes ({served}); redis.url is not set, so each process "
        "keeps presence, pushes and kicks in its own memory (token states are in the database): a message sent "
        "through one is not pushed by the other, and a logout decided in one does not close the other's connections",
        "set redis.url (and a shared PostgreSQL database.url) in the configuration of every process "
        "(deploy/systemd/openim-api.service, openim-msggateway.service), or run every role in one process "
        '(`openim start`, deploy/systemd/openim.service); docs/operations.md, "Split roles"',
    )


def _probe(role: str, key: str, ip: str, port: int) -> Check:
    name = f"port.{role}:{port}"
    if sockets.bind_probe(ip, port):
        return Check(name, Status.OK, f"{ip}:{port} is free (bind test; no /proc to name holders)")
    return Check(
        name,
        Status.WARN,
        f"{ip}:{port} cannot be bound; without /proc the holder cannot be named (it may be openim itself)",
        f"`lsof -i :{port}` names it; change {key} if it is not openim",
    )


def _limits(ctx: Context, pid: int) -> tuple[int, int] | None:
    """The soft and hard open-file limits of a process (-1 = unlimited)."""
    try:
        for line in (ctx.proc / str(pid) / "limits").read_text().splitlines():
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return (-1 if soft == "unlimited" else int(soft), -1 if hard == "unlimited" else int(hard))
    except (OSError, ValueError):
        pass
    return None


def check_open_files(ctx: Context) -> Check:
    """The open-file limit (each WebSocket connection is a descriptor) against the guide's 65536."""
    minimum = ctx.thresholds.nofile_min
    max_conn = ctx.settings.msggateway.websocketMaxConnNum
    remedy = (
        "under systemd set LimitNOFILE=65536 in the unit (deploy/systemd/*.service do; limits.conf does not apply to "
        "services); for a shell, deploy/limits.conf in /etc/security/limits.d/ and log in again"
    )
    for pid in sorted(ctx.servers):
        limits = _limits(ctx, pid)
        if limits is None:
            continue
        soft = limits[0]
        try:
            in_use = len(os.listdir(ctx.proc / str(pid) / "fd"))
        except OSError:
            in_use = -1
        saw = f"openim pid {pid}: soft limit {'unlimited' if soft < 0 else soft}" + (
            f", {in_use} open" if in_use >= 0 else ""
        )
        if 0 <= soft and in_use >= 0.8 * soft:
            return Check("limits.nofile", Status.FAIL, saw + ": new connections will soon fail with EMFILE", remedy)
        if 0 <= soft < minimum:
            return Check("limits.nofile", Status.WARN, saw + f" < {minimum}{_conn_note(soft, max_conn)}", remedy)
        return Check("limits.nofile", Status.OK, saw)
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    shown = "unlimited" if soft == resource.RLIM_INFINITY else str(soft)
    saw = f"this shell's soft limit is {shown} (no running openim found)"
    if soft != resource.RLIM_INFINITY and soft < minimum:
        return Check("limits.nofile", Status.WARN, saw + f" < {minimum}{_conn_note(soft, max_conn)}", remedy)
    return Check("limits.nofile", Status.OK, saw)


def _conn_note(soft: int, max_conn: int) -> str:
    if soft < max_conn:
        return f"; msggateway.websocketMaxConnNum is {max_conn}, each connection needs a descriptor"
    return ""


def check_somaxconn(ctx: Context) -> Check:
    """net.core.somaxconn caps every listen backlog: below openim's 2048, reconnect storms get refused."""
    try:
        value = int((ctx.proc / "sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return Check("net.somaxconn", Status.OK, "not readable here (not Linux?); nothing to check")
    try:
        syn = int((ctx.proc / "sys/net/ipv4/tcp_max_syn_backlog").read_text())
        extra = f", net.ipv4.tcp_max_syn_backlog = {syn}"
    except (OSError, ValueError):
        extra = ""
    saw = f"net.core.somaxconn = {value}{extra}"
    if value < LISTEN_BACKLOG:
        return Check(
            "net.somaxconn",
            Status.WARN,
            saw + f": openim listens with a backlog of {LISTEN_BACKLOG}, the kernel cuts it to {value}, so when many "
            "clients reconnect at once (a gateway restart) connections are refused",
            "install deploy/sysctl.conf as /etc/sysctl.d/90-openim.conf and run `sysctl --system` (somaxconn 65535)",
        )
    return Check("net.somaxconn", Status.OK, saw + f" (≥ the backlog of {LISTEN_BACKLOG} openim listens with)")


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _disk(ctx: Context, name: str, what: str, path: Path) -> Check:
    usage = shutil.disk_usage(_existing(path))
    pct = 100.0 * usage.used / max(1, usage.used + usage.free)  # as df computes Use%
    saw = f"{path.absolute()} ({what}): {pct:.0f}% used, {usage.free / 2**30:.1f} GiB free"
    remedy = (
        "free space on that filesystem: old logs (log.remainRotationCount keeps fewer), old backups "
        "(`openim backup --keep-days`), or grow the disk; a full disk stops the database accepting messages"
    )
    t = ctx.thresholds
    if pct >= t.disk_fail_pct:
        return Check(name, Status.FAIL, saw, remedy)
    if pct >= t.disk_warn_pct:
        return Check(name, Status.WARN, saw, remedy)
    return Check(name, Status.OK, saw)


def check_disks(ctx: Context) -> list[Check]:
    """Disk usage of the SQLite file's directory and of the log folder (WARN at 80 %, FAIL at 95 %)."""
    checks = []
    database = sqlite_file(ctx.settings.database.url)
    if database is not None:  # PostgreSQL's data directory is on its own server: watch it there
        checks.append(_disk(ctx, "disk.data", "data", database.parent))
    checks.append(_disk(ctx, "disk.logs", "logs", Path(ctx.settings.log.storageLocation)))
    return checks


def _meminfo(ctx: Context) -> dict[str, int]:
    values = {}
    for line in (ctx.proc / "meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0]) * 1024
    return values


def _cgroup_memory() -> tuple[int, int] | None:
    """(usage, limit) of this cgroup v2 when it is limited below the machine's memory."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int((base / "memory.current").read_text()), int(limit)
    except (OSError, ValueError):
        return None


def _rss(ctx: Context, pid: int) -> int | None:
    try:
        for line in (ctx.proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def check_memory(ctx: Context) -> Check:
    """Memory in use (total minus available, as `free` computes it; a cgroup limit when tighter): WARN at 85 %."""
    try:
        info = _meminfo(ctx)
        total, available = info["MemTotal"], info["MemAvailable"]
    except (OSError, KeyError, ValueError, IndexError):
        return Check("memory", Status.OK, "/proc/meminfo not readable here (not Linux?); nothing to check")
    used, scope = total - available, "machine"
    cgroup = _cgroup_memory()
    if cgroup is not None and cgroup[1] < total:
        used, total, scope = cgroup[0], cgroup[1], "cgroup limit"
    pct = 100.0 * used / max(1, total)
    saw = f"{pct:.0f}% of {total / 2**30:.1f} GiB ({scope}) in use"
    rss = [(pid, _rss(ctx, pid)) for pid in sorted(ctx.servers)]
    if rss:
        saw += "; openim " + ", ".join(f"pid {p} RSS {r / 2**20:.0f} MiB" for p, r in rss if r is not None)
    remedy = (
        "find what grows: `openim` RSS above (its heap at /debug/pprof/heap), `ps aux --sort=-%mem | head`; "
        "a full machine ends with the OOM killer stopping the server"
    )
    t = ctx.thresholds
    if pct >= t.memory_fail_pct:
        return Check("memory", Status.FAIL, saw, remedy)
    if pct >= t.memory_warn_pct:
        return Check("memory", Status.WARN, saw, remedy)
    return Check("memory", Status.OK, saw)
