"""deploy/nginx/openim.conf as shipped, made runnable on loopback for tests.

The test copy differs from the shipped file only where it must, each change applied to the shipped text and
checked to have matched (so a test fails when the shipped file changes shape, rather than testing a stale copy):

- the two upstream blocks list the test's gateway and api ports instead of 10001/10011 and 10002;
- the port-80 redirect server is dropped, and the TLS server listens on plain HTTP on 127.0.0.1:<free port>
  (its `listen` lines and `ssl_*` lines replaced): no certificate is needed, every location is kept as is.

`Nginx` wraps it in a minimal nginx.conf of its own (pid, logs and temp paths in the test's directory).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
from tests.process import free_port

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "deploy" / "nginx" / "openim.conf"


def _sub(pattern: str, repl: str, text: str, count: int = 1) -> str:
    """re.sub that insists on exactly `count` matches."""
    result, n = re.subn(pattern, repl, text, flags=re.MULTILINE | re.DOTALL)
    assert n == count, f"deploy/nginx/openim.conf changed shape: {pattern!r} matched {n} times, not {count}"
    return result


def loopback_copy(gateways: list[int], apis: list[int], port: int) -> str:
    """The shipped file with the test's upstream ports and a plain-HTTP loopback listener."""
    text = SHIPPED.read_text()

    def upstream(name: str, ports: list[int]) -> None:
        nonlocal text
        block = re.search(rf"^upstream {name} \{{\n(.*?)^\}}", text, flags=re.MULTILINE | re.DOTALL)
        assert block, f"no upstream {name} in deploy/nginx/openim.conf"
        servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+(.*?);$", block[1], flags=re.MULTILINE)
        assert servers, f"upstream {name} lists no 127.0.0.1 server"
        options = servers[0]  # max_fails=… as shipped
        lines = "".join(f"    server 127.0.0.1:{p}{options};\n" for p in ports)
        body = re.sub(r"^\s*server 127\.0\.0\.1:\d+.*?;\n", "", block[1], flags=re.MULTILINE)
        text = text.replace(block[0], f"upstream {name} {{\n{body}{lines}}}")  # the method (least_conn) first

    upstream("openim_msggateway", gateways)
    upstream("openim_api", apis)
    text = _sub(r"^server \{\n    listen 80;.*?^\}\n", "", text)  # the redirect to https
    text = _sub(
        r"^    listen 443 ssl[^\n]*\n    listen \[::\]:443 ssl[^\n]*\n", f"    listen 127.0.0.1:{port};\n", text
    )
    text = _sub(r"^    ssl_[a-z_]+ [^\n]*\n", "", text, count=3)
    return text


class Nginx:
    """nginx running the test copy of deploy/nginx/openim.conf in `directory`."""

    def __init__(self, directory: Path, gateways: list[int], apis: list[int], worker_connections: int = 1024) -> None:
        """`worker_connections`: a proxied WebSocket holds two (client and upstream)."""
        self.directory = directory
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "openim.conf").write_text(loopback_copy(gateways, apis, self.port))
        temp = "".join(
            f"    {kind}_temp_path {directory / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # Started as root, nginx runs its worker as `nobody`, which cannot enter a test's directory (pytest's and
        # mkdtemp's are 0700): a request body larger than the buffer (a big user_register) then fails with 500
        # when the worker opens its temp file. The worker stays root here; elsewhere the directive is not written.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (directory / "nginx.conf").write_text(
            f"{user}pid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'} info;\ndaemon off;\n"
            f"worker_processes 1;\nevents {{ worker_connections {worker_connections}; }}\n"
            f"http {{\n    access_log {directory / 'access.log'};\n{temp}"
            f"    include {directory / 'openim.conf'};\n}}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        assert Path(binary).exists(), "nginx is not installed (scripts/test-tools installs it)"
        conf = str(self.directory / "nginx.conf")
        check = subprocess.run([binary, "-t", "-c", conf, "-p", str(self.directory)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        with (self.directory / "nginx.out").open("a") as out:
            self.proc = subprocess.Popen([binary, "-c", conf, "-p", str(self.directory)], stdout=out, stderr=out)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{self.port}/api/healthz", timeout=0.5)
                return
            time.sleep(0.05)
        raise RuntimeError("nginx did not answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
