"""The deployment files under deploy/ and the operations guide: they parse, the tools accept them, they agree
with the code (roles, limits, the doctor's thresholds), and docs/operations.md maps every command of OpenIM's
troubleshooting guide.

`nginx -t` and `systemd-analyze verify` run when those tools are installed (Debian: nginx-light, systemd);
the structural checks always run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from openim.ops.doctor import Thresholds
from openim.ops.doctor.host import LISTEN_BACKLOG
from openim.runtime import ROLES
from openim.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
OPENIM_BIN = "/opt/openim/bin/openim"


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as section → key → values (keys may repeat); comments and blank lines skipped."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}:{number}: not key=value inside a section"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_names_as_the_guide() -> None:
    """The units are named as the guide's (`systemctl status openim-api`), plus the all-in-one openim.service."""
    assert [u.name for u in UNITS] == [
        "openim-api.service",
        "openim-msggateway.service",
        "openim-msgtransfer.service",
        "openim.service",
    ]


def test_msgtransfer_unit_exists_with_the_role() -> None:
    """The msgtransfer role has its unit, openim-msgtransfer.service, and the guide's page names it."""
    assert "msgtransfer" in ROLES
    assert (DEPLOY / "systemd" / "openim-msgtransfer.service").exists()
    assert "openim-msgtransfer" in (ROOT / "docs" / "operations.md").read_text()


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_runs_known_roles_with_the_limits(unit: Path) -> None:
    """Each unit starts `openim start` with roles that exist, the guide's open-file limit, a graceful stop, and
    env: production."""
    service = parse_unit(unit)["Service"]
    [command] = service["ExecStart"]
    program, verb, *roles = command.split()
    assert (program, verb) == (OPENIM_BIN, "start")
    assert set(roles) <= set(ROLES)
    assert int(service["LimitNOFILE"][0]) >= Thresholds().nofile_min
    assert service["KillSignal"] == ["SIGTERM"]
    assert int(service["TimeoutStopSec"][0]) > 20  # REST requests 10 s + gateway drain 10 s, then commits
    assert service["User"] == ["openim"] and service["UMask"] == ["0027"]
    assert "OPENIM_CONFIG=/etc/openim/config.yaml" in service["Environment"]
    assert "OPENIM_ENV=production" in service["Environment"]  # refuses the default secret


def test_units_cover_every_role_once_split() -> None:
    """openim.service runs every role; the split units together run each role exactly once, and each adds the
    admin role on a port of its own, so every process has /metrics for Prometheus to discover."""
    roles = {u.name: parse_unit(u)["Service"]["ExecStart"][0].split()[2:] for u in UNITS}
    assert roles["openim.service"] == []  # no roles named: all of them
    split = ("openim-api.service", "openim-msggateway.service", "openim-msgtransfer.service")
    assert all(roles[name][-1] == "admin" for name in split)
    assert sorted(r for name in split for r in roles[name][:-1]) == sorted(set(ROLES) - {"admin"})
    ports = {name: parse_unit(DEPLOY / "systemd" / name)["Service"].get("Environment", []) for name in split}
    admin_ports = [next((e for e in env if e.startswith("OPENIM_ADMIN_PORT=")), "6060") for env in ports.values()]
    assert len(set(admin_ports)) == 3
    for name in ("openim-api.service", "openim-msggateway.service", "openim-msgtransfer.service"):
        assert parse_unit(DEPLOY / "systemd" / name)["Unit"]["Conflicts"] == ["openim.service"]


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` accepts every unit (ExecStart pointed at this checkout's openim)."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    openim = Path(sys.executable).with_name("openim")
    assert openim.exists(), "the openim console script of this environment"
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(OPENIM_BIN, str(openim)))
    result = subprocess.run(
        [tool, "verify", *(str(tmp_path / u.name) for u in UNITS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # unknown keys are only warned about


# --- nginx -------------------------------------------------------------------------------------------------

NGINX = DEPLOY / "nginx" / "openim.conf"


def _nginx_text() -> str:
    return "\n".join(line.split("#", 1)[0] for line in NGINX.read_text().splitlines())


def test_nginx_config_structure() -> None:
    """Balanced blocks; a WebSocket upstream with two gateways, the REST upstream, and the upgrade headers."""
    text = _nginx_text()
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    gateways = re.search(r"upstream openim_msggateway \{(.*?)\}", text, re.S)
    assert gateways is not None
    servers = re.findall(r"server\s+([\d.]+):(\d+)", gateways.group(1))
    defaults = Settings()
    assert len(servers) == 2
    assert str(defaults.msggateway.ports[0]) == servers[0][1]
    assert all(port != str(defaults.api.ports[0]) for _, port in servers)  # the guide's mistake: REST port there
    api = re.search(r"upstream openim_api \{(.*?)\}", text, re.S)
    assert api is not None and f"127.0.0.1:{defaults.api.ports[0]}" in api.group(1)
    location = re.search(r"location /msg_gateway \{(.*?)\}", text, re.S)
    assert location is not None
    for directive in (
        "proxy_pass http://openim_msggateway;",
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $openim_connection;",
        "proxy_read_timeout 86400s;",
    ):
        assert directive in location.group(1)
    assert "6060" not in text  # the admin endpoint stays private


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    """`nginx -t` accepts deploy/nginx/openim.conf inside a minimal http block (a throwaway certificate)."""
    nginx, openssl = shutil.which("nginx"), shutil.which("openssl")
    if nginx is None or openssl is None:
        reason = "nginx (apt-get install nginx-light) and openssl are needed for `nginx -t` (scripts/test-tools)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=im.example.com",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = NGINX.read_text()
    site = site.replace("/etc/letsencrypt/live/im.example.com/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/im.example.com/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "openim.conf").write_text(site)
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {tmp_path}/openim.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", str(tmp_path / "logs/error.log")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


# --- kernel and limits -------------------------------------------------------------------------------------


def _sysctl() -> dict[str, int]:
    values = {}
    for line in (DEPLOY / "sysctl.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = (part.strip() for part in line.split("=", 1))
            values[key] = int(value)
    return values


def test_sysctl_is_the_guides_tuning() -> None:
    """deploy/sysctl.conf holds the guide's five settings, each a real kernel key, somaxconn above our backlog."""
    values = _sysctl()
    assert values == {
        "net.core.somaxconn": 65535,
        "net.ipv4.tcp_max_syn_backlog": 65535,
        "net.ipv4.tcp_fin_timeout": 30,
        "net.ipv4.tcp_keepalive_time": 1200,
        "net.ipv4.tcp_max_tw_buckets": 5000,
    }
    assert values["net.core.somaxconn"] >= LISTEN_BACKLOG
    if Path("/proc/sys/net").is_dir():
        for key in values:
            assert Path("/proc/sys", *key.split(".")).exists(), key


def test_limits_conf() -> None:
    """deploy/limits.conf gives the service user the guide's nofile 65536, soft and hard, in limits.conf syntax."""
    rows = [
        line.split()
        for line in (DEPLOY / "limits.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all(len(row) == 4 and row[1] in ("soft", "hard", "-") and row[2] == "nofile" for row in rows)
    assert {(row[0], row[1]) for row in rows} >= {("openim", "soft"), ("openim", "hard")}
    assert all(int(row[3]) >= Thresholds().nofile_min for row in rows)


# --- docs/operations.md ------------------------------------------------------------------------------------

# Every command of the guide's sections 1-6, log analysis, monitoring, tuning and backup, as the guide spells it.
GUIDE_COMMANDS = (
    "netstat -tlnp | grep 10002",
    "lsof -i :10002",
    "cat config/config.yaml",
    "yaml-lint config/config.yaml",
    "tail -f logs/api.log",
    "journalctl -u openim-api -f",
    "ps aux | grep openim",
    "systemctl status openim-api",
    "kill -9 $(lsof -t -i:10002)",
    "chmod 644 config/config.yaml",
    "chown openim:openim config/config.yaml",
    "systemctl restart openim-api",
    "systemctl status mongod",
    "mongo --eval \"db.runCommand('ping')\"",
    "systemctl status redis-server",
    "redis-cli ping",
    "systemctl status etcd",
    "etcdctl endpoint health",
    "systemctl start mongod redis-server etcd",
    "ufw status",
    "iptables -L",
    "vim config/config.yaml",
    'mongo --eval "db.serverStatus().connections"',
    'mongo --eval "db.setProfilingLevel(2, {slowms: 100})"',
    'mongo --eval "db.system.profile.find().sort({ts: -1}).limit(5)"',
    'mongo --eval "db.currentOp()"',
    "maxPoolSize",
    "db.users.createIndex",
    "redis-cli info memory",
    "redis-cli info keyspace",
    "redis-cli --bigkeys",
    "redis-cli config set maxmemory 2gb",
    "redis-cli config set maxmemory-policy allkeys-lru",
    'redis-cli --scan --pattern "*" | xargs redis-cli del',
    "curl -X GET http://localhost:10001/health",
    "kafka-topics.sh",
    "kafka-consumer-groups.sh --bootstrap-server localhost:9092 --list",
    "--describe --group msgToRedis",
    "systemctl restart openim-msggateway",
    "systemctl restart openim-msgtransfer",
    "--reset-offsets --to-latest",
    "netstat -an | grep :10001 | wc -l",
    "ss -tuln | grep :10001",
    "nginx -t",
    "systemctl status nginx",
    "upstream websocket",
    "top",
    "htop",
    "iostat -x 1",
    'curl -w "@curl-format.txt"',
    "go tool pprof http://localhost:6060/debug/pprof/profile?seconds=30",
    "timeout: 30",
    "watch -n 1 'ps aux --sort=-%mem | head -10'",
    "go tool pprof http://localhost:6060/debug/pprof/heap",
    "go tool pprof http://localhost:6060/debug/pprof/goroutine",
    "conn.Close()",
    "context.WithTimeout",
    "etcdctl get --prefix /openim/",
    "telnet 127.0.0.1 10110",
    "nc -zv 127.0.0.1 10110",
    "nslookup openim-api",
    "dig openim-api",
    "systemctl restart openim-rpc-user",
    "ufw allow 10110/tcp",
    "iptables -A INPUT -p tcp --dport 10110 -j ACCEPT",
    'echo "127.0.0.1 openim-api" >> /etc/hosts',
    'grep -A 5 "tokenPolicy" config/config.yaml',
    "base64 -d",
    "timedatectl status",
    "ntpq -p",
    "expire: 168",
    "ntpdate -s time.nist.gov",
    "systemctl restart ntp",
    "log-analyzer.sh",
    'top -bn1 | grep "Cpu(s)"',
    "free | grep Mem",
    "df -h",
    "check_service",
    "alert.sh",
    "* soft nofile 65536",
    "net.core.somaxconn = 65535",
    "sysctl -p",
    "expireAfterSeconds",
    "redis-cli config set timeout 300",
    "redis-cli config set tcp-keepalive 60",
    "msgCacheTimeout",
    "mongodump",
    "redis-cli --rdb",
    "tar -czf",
    "find $BACKUP_DIR -type f -mtime +7 -delete",
    "mongorestore",
    "redis-cli flushall",
    "tar -xzf",
)


def test_operations_doc_maps_every_guide_command() -> None:
    """docs/operations.md names each command of the guide in its mapping, next to openim-py's counterpart."""
    text = (ROOT / "docs" / "operations.md").read_text().replace("\\|", "|")  # pipes escaped in tables
    missing = [command for command in GUIDE_COMMANDS if command not in text]
    assert missing == []


def test_operations_doc_names_real_commands() -> None:
    """Every `openim …` subcommand the doc mentions exists in the CLI."""
    from typer.main import get_command

    from openim.cli import app

    group = get_command(app)
    known = set(getattr(group, "commands", {}))
    text = (ROOT / "docs" / "operations.md").read_text()
    used = set(re.findall(r"`openim ([a-z][a-z-]*)", text))
    assert used and used <= known, used - known


# --- Prometheus: deploy/prometheus/prometheus.yml ---------------------------------------------------------------

PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian: prometheus) is not installed")
def test_prometheus_config_passes_promtool() -> None:
    """`promtool check config` accepts the scrape config, and with it the rules file it names."""
    result = subprocess.run(
        ["promtool", "check", "config", str(PROMETHEUS_CONFIG)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_prometheus_config_discovers_through_the_routes() -> None:
    """Job "openim" (the name alerts.yml's rules use) finds its targets with http_sd_configs on our
    /prometheus_discovery routes, one per kind of process: api, msg_gateway, msg_transfer."""
    from openim.services.prometheus_discovery import NAMES, SERVICE_ROLES

    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "openim"]
    urls = [sd["url"] for sd in job["http_sd_configs"]]
    names = [url.rsplit("/prometheus_discovery/", 1)[1] for url in urls]
    assert set(names) <= set(NAMES)
    assert sorted(SERVICE_ROLES[n] for n in names) == sorted(set(ROLES) - {"admin"})
    assert config["rule_files"] == ["alerts.yml"]
    assert 'job="openim"' in (DEPLOY / "prometheus" / "alerts.yml").read_text()
