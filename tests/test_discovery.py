"""Discovery end to end: a real `openim start` with `discovery.enable: etcd` is listed by the guide's
`etcdctl get --prefix /openim/`, serves its own /metrics address on /prometheus_discovery, is flagged stale by
`openim doctor` once killed with SIGKILL and vanishes within its TTL; a graceful stop removes it at once. And a
real Prometheus on deploy/prometheus/prometheus.yml scrapes what the routes name.

The etcd is the shared test one (scripts/test-services); these processes write under the guide's /openim/
with their own ports, so other entries there are told apart by port.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from tests.process import ServerProcess, clean_env, free_port, start_server

from openim.ops.doctor import Status, run_checks

TTL_S = 3
DEPLOY_PROMETHEUS = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "prometheus.yml"


def etcdctl_get(etcd_url: str) -> dict[str, dict[str, object]]:
    """`etcdctl get --prefix /openim/` (the guide's command): key → the JSON value."""
    if shutil.which("etcdctl") is None:
        pytest.skip("etcdctl is not installed (Debian: etcd-client; scripts/test-tools installs it)")
    out = subprocess.run(
        ["etcdctl", "--endpoints", etcd_url, "get", "--prefix", "/openim/"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.splitlines()
    return {key: json.loads(value) for key, value in zip(out[::2], out[1::2], strict=True)}


def mine(entries: dict[str, dict[str, object]], server: ServerProcess) -> list[str]:
    """The keys of `server` among everything registered under /openim/ (other tests may share the etcd)."""
    return sorted(k for k, v in entries.items() if v.get("pid") == server.proc.pid)


def discovery_env(etcd_url: str) -> dict[str, str]:
    return {
        "OPENIM_DISCOVERY_ENABLE": "etcd",
        "OPENIM_DISCOVERY_ETCD_ADDRESS": etcd_url,
        "OPENIM_DISCOVERY_TTL": str(TTL_S),
        "OPENIM_DISCOVERY_REGISTERIP": "127.0.0.1",
    }


def wait_until(predicate: object, timeout_s: float) -> float:
    """Poll `predicate()` every 0.1 s until true; the seconds it took (fails past `timeout_s`)."""
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"not true within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.slow
@pytest.mark.etcd
def test_etcdctl_lists_the_process_and_it_vanishes_after_kill_9(tmp_path: Path, etcd_url: str) -> None:
    """Every role of the process is under /openim/<role>/ with its address; /prometheus_discovery/api names its
    /metrics; after kill -9 the doctor flags it (its pid is gone from this host) and etcd drops it within the TTL."""
    server = start_server(tmp_path, **discovery_env(etcd_url))
    try:
        wait_until(lambda: len(mine(etcdctl_get(etcd_url), server)) == 4, 10)
        entries = etcdctl_get(etcd_url)
        keys = mine(entries, server)
        assert keys == sorted(
            [
                f"/openim/api/127.0.0.1:{server.api}",
                f"/openim/msggateway/127.0.0.1:{server.gateway}",
                f"/openim/msgtransfer/127.0.0.1/pid/{server.proc.pid}",
                f"/openim/admin/127.0.0.1:{server.admin}",
            ]
        )
        api_entry = entries[f"/openim/api/127.0.0.1:{server.api}"]
        assert api_entry["roles"] == ["api", "msggateway", "msgtransfer", "admin"]
        assert api_entry["metrics"] == f"127.0.0.1:{server.admin}" and api_entry["ttl"] == TTL_S
        targets = httpx.get(f"http://127.0.0.1:{server.api}/prometheus_discovery/api").json()
        assert [f"127.0.0.1:{server.admin}"] in [group["targets"] for group in targets]
        metrics = httpx.get(f"http://127.0.0.1:{server.admin}/metrics")
        assert metrics.status_code == 200  # the target is a real /metrics

        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        killed_at = time.monotonic()
        checks = {c.name: c for c in asyncio.run(run_checks(None, clean_env(**discovery_env(etcd_url))))}
        processes = checks["discovery.processes"]
        assert processes.status is Status.WARN
        assert f"process {server.proc.pid} no longer runs on this host" in processes.saw
        # etcd revokes an expired lease within half a second of its TTL.
        wait_until(lambda: not mine(etcdctl_get(etcd_url), server), TTL_S + 2 - (time.monotonic() - killed_at))
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.etcd
def test_a_graceful_stop_removes_the_entries_at_once(tmp_path: Path, etcd_url: str) -> None:
    """SIGTERM: the process revokes its lease while it drains, before its TTL would have run out."""
    server = start_server(tmp_path, "api", "admin", **discovery_env(etcd_url))
    try:
        wait_until(lambda: len(mine(etcdctl_get(etcd_url), server)) == 2, 10)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0
        assert mine(etcdctl_get(etcd_url), server) == []  # gone by the time it exited, not TTL_S later
    finally:
        server.stop()


@pytest.mark.slow
def test_prometheus_scrapes_what_the_routes_name(tmp_path: Path) -> None:
    """A real Prometheus, on deploy/prometheus/prometheus.yml pointed at a real `openim start` (in-process registry:
    one process, itself), discovers the process's /metrics through /prometheus_discovery and scrapes it: up."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (Debian: prometheus; scripts/test-tools installs it)")
    (tmp_path / "openim").mkdir()
    server = start_server(tmp_path / "openim")
    shipped = yaml.safe_load(DEPLOY_PROMETHEUS.read_text())
    [job] = [j for j in shipped["scrape_configs"] if j["job_name"] == "openim"]
    for sd in job["http_sd_configs"]:
        sd["url"] = sd["url"].replace("127.0.0.1:10002", f"127.0.0.1:{server.api}")
        sd["refresh_interval"] = "1s"
    job["scrape_interval"] = "1s"
    config = {"global": shipped["global"], "scrape_configs": [job]}  # no rules, no node_exporter here
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    web = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def admin_is_up() -> bool:
            try:
                answer = httpx.get(f"http://127.0.0.1:{web}/api/v1/targets", timeout=1).json()
            except (httpx.HTTPError, ValueError):
                return False
            active = answer["data"]["activeTargets"]
            return [(t["labels"]["instance"], t["health"]) for t in active] == [(f"127.0.0.1:{server.admin}", "up")]

        wait_until(admin_is_up, 30)  # the all-in-one process is in all three lists: one target
    finally:
        prometheus.terminate()
        prometheus.wait(10)
        log.close()
        server.stop()
