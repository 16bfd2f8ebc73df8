"""Who listens on a TCP port, as `lsof -i :PORT` or `ss -ltnp` would say, read from /proc without either tool.

`/proc/net/tcp` and `/proc/net/tcp6` list the sockets of this network namespace (address, port, state, uid,
inode); `/proc/<pid>/fd/*` links to `socket:[inode]` name the processes that hold them. A process of another
user is visible only to root: then the owner's uid is known but not its pid, and the report says so.
On a system without /proc the answer comes from trying to bind the port, which tells taken or free only.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Holder", "Listener", "holders", "is_openim", "listeners", "overlaps", "process_command"]

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's `st` column


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket of this network namespace."""

    address: str  # "0.0.0.0", "127.0.0.1", "::"
    port: int
    uid: int
    inode: int


@dataclass(frozen=True)
class Holder:
    """A process holding a socket: its pid, user and command line (empty when it could not be read)."""

    pid: int
    uid: int
    argv: tuple[str, ...]

    @property
    def command(self) -> str:
        return " ".join(self.argv) if self.argv else "?"


def _decode_address(hex_address: str) -> str:
    """/proc/net/tcp{,6} write addresses as 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]
    return str(ipaddress.ip_address(b"".join(words)))


def listeners(proc: Path = Path("/proc")) -> list[Listener] | None:
    """Every listening TCP socket (IPv4 and IPv6), or None when /proc/net/tcp cannot be read."""
    found: list[Listener] = []
    readable = False
    for name in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / name).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            address, port = fields[1].split(":")
            found.append(Listener(_decode_address(address), int(port, 16), int(fields[7]), int(fields[9])))
    return found if readable else None


def holders(inodes: set[int], proc: Path = Path("/proc")) -> dict[int, list[Holder]]:
    """inode → the processes with a file descriptor on that socket (those this user may inspect)."""
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    found: dict[int, list[Holder]] = {}
    if not wanted:
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # another user's process, or it just exited
            continue
        hits: set[int] = set()
        for fd in fds:
            try:
                inode = wanted.get(os.readlink(fd))
            except OSError:
                continue
            if inode is not None:
                hits.add(inode)
        if hits:
            holder = Holder(int(entry.name), _uid(entry), process_command(int(entry.name), proc))
            for inode in hits:
                found.setdefault(inode, []).append(holder)
    return found


def process_command(pid: int, proc: Path = Path("/proc")) -> tuple[str, ...]:
    """The argv of a process, empty when it is gone or hidden."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ()
    return tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def _uid(entry: Path) -> int:
    try:
        for line in (entry / "status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1


def is_openim(argv: tuple[str, ...]) -> bool:
    """Whether a command line runs openim-py: `openim …`, `python …/bin/openim …` or `python -m openim …`."""
    for index, arg in enumerate(argv[:3]):
        if os.path.basename(arg) == "openim":
            return True
        if arg == "-m" and index + 1 < len(argv) and argv[index + 1].split(".")[0] == "openim":
            return True
    return False


def overlaps(listen_ip: str, address: str) -> bool:
    """Whether a socket bound to `address` keeps us from binding `listen_ip` on the same port."""
    return listen_ip == address or _wildcard(listen_ip) or _wildcard(address)


def _wildcard(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_unspecified
    except ValueError:
        return True  # a host name: it may resolve to anything, so assume it collides


def bind_probe(listen_ip: str, port: int) -> bool:
    """True when `listen_ip:port` can be bound right now (the fallback without /proc)."""
    family = socket.AF_INET6 if ":" in listen_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((listen_ip, port))
        except OSError:
            return False
    return True
