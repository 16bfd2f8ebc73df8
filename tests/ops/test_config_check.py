"""Tests for openim.ops.config_check: the report, its cross-key rules, and the text and JSON renderings."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from openim.ops.config_check import BUILTIN_DEFAULTS, check_config, render_json, render_text, run_config_check
from openim.settings import load_settings

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in an empty directory, so no ./config/config.yaml is found by accident."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_shipped_config_is_ok() -> None:
    """The shipped file passes, names itself as the source and reports the masked defaults."""
    report = check_config(SHIPPED, {})
    assert report.ok
    assert report.problems == []
    assert report.source == str(SHIPPED)
    assert report.settings == load_settings(SHIPPED, {}).masked()
    assert report.settings["secret"] == "***"


def test_builtin_defaults_when_no_file() -> None:
    """With no file to find, the check reports the built-in defaults and says so."""
    report = check_config(None, {})
    assert report.ok
    assert report.source == BUILTIN_DEFAULTS
    assert render_text(report).startswith("# effective settings from built-in defaults (no config file found)")


def test_follows_the_search_order(tmp_path: Path) -> None:
    """Without a PATH the check reads $OPENIM_CONFIG, else ./config/config.yaml, as `openim start` does."""
    write(tmp_path, "admin:\n  port: 7001\n", "config/config.yaml")
    other = write(tmp_path, "admin:\n  port: 7002\n", "other.yaml")
    assert check_config(None, {}).source == "config/config.yaml"
    report = check_config(None, {"OPENIM_CONFIG": str(other)})
    assert report.source == str(other)
    assert report.settings is not None and report.settings["admin"]["port"] == 7002


def test_broken_yaml_reports_the_right_line(tmp_path: Path) -> None:
    """A syntax error deep in the file is reported at its own line, and the check fails."""
    path = write(
        tmp_path,
        """
        # a comment
        secret: openIM123
        api:
          listenIP: 0.0.0.0
          ports: [10002]
        msggateway:
          ports: [10001]
            websocketMaxMsgLen: 4096
        """,
    )
    report = check_config(path, {})
    assert not report.ok
    assert report.settings is None
    [problem] = report.problems
    assert (problem.source, problem.line) == (str(path), 8)
    code, text = run_config_check(path, {})
    assert code == 1
    assert text.splitlines()[0].startswith(f"{path}:8:")
    assert "YAML syntax" in text


def test_schema_problems_one_per_line(tmp_path: Path) -> None:
    """Each schema problem is one line `file:line:col key.path: what is wrong`, and the exit code is 1."""
    path = write(
        tmp_path,
        """
        multiLogin:
          policy: 3
        tokenPolicy:
          expire: 2w
        """,
    )
    code, text = run_config_check(path, {})
    assert code == 1
    assert text.splitlines()[:2] == [
        f"{path}:2:3 multiLogin.policy: must be 0 (keep up to maxNumOneEnd per platform), 1 (one per platform), "
        "4 (one per platform class) or 5 (PC and one other)",
        f"{path}:4:3 tokenPolicy.expire: '2w' is not a duration; write 90 (days), 90d, 168h, 30m or 3600s",
    ]


def test_missing_file_fails(tmp_path: Path) -> None:
    """A PATH that does not exist fails the check instead of falling back to the defaults."""
    code, text = run_config_check(tmp_path / "nope.yaml", {})
    assert code == 1
    assert text.startswith(f"{tmp_path / 'nope.yaml'}: (top level): cannot read the file")


def test_success_prints_masked_yaml(tmp_path: Path) -> None:
    """On success the text is YAML of the effective settings, with the secret and URL passwords masked."""
    env = {
        "OPENIM_SECRET": "tops3cret",
        "OPENIM_DATABASE_URL": "postgresql://openim:dbpass@127.0.0.1:5432/openim",
        "OPENIM_REDIS_URL": "redis://:redispass@127.0.0.1:6379/0",
    }
    code, text = run_config_check(SHIPPED, env)
    assert code == 0
    for secret in ("tops3cret", "dbpass", "redispass"):
        assert secret not in text
    data = yaml.safe_load(text)
    assert data["secret"] == "***"
    assert data["database"]["url"] == "postgresql://openim:***@127.0.0.1:5432/openim"
    assert data["redis"]["url"] == "redis://:***@127.0.0.1:6379/0"
    assert "# overridden by the environment: OPENIM_DATABASE_URL, OPENIM_REDIS_URL, OPENIM_SECRET" in text
    assert "  ports: [10002]" in text


def test_printed_settings_load_back(tmp_path: Path) -> None:
    """The printed YAML is a valid config file that loads to the same settings (token expiry keeps its unit)."""
    env = {"OPENIM_TOKENPOLICY_EXPIRE": "36h", "OPENIM_API_PORTS": "10002,10012", "OPENIM_SECRET": "x"}
    secrets = {"OPENIM_SECRET": "x", "OPENIM_MINIO_SECRETACCESSKEY": "y"}  # printed masked: given again
    code, text = run_config_check(SHIPPED, {**env, **secrets})
    assert code == 0
    printed = write(tmp_path, text, "printed.yaml")
    again = load_settings(printed, secrets)
    env = {**env, **secrets}
    assert again == load_settings(SHIPPED, env)
    assert again.tokenPolicy.expire == 36 * 3600


def test_json_rendering(tmp_path: Path) -> None:
    """The JSON form carries ok, source, placed problems, warnings, overrides and the masked settings."""
    good = json.loads(render_json(check_config(SHIPPED, {"OPENIM_ADMIN_PORT": "6061"})))
    assert good["ok"] is True
    assert good["source"] == str(SHIPPED)
    assert good["envOverrides"] == ["OPENIM_ADMIN_PORT"]
    assert good["settings"]["admin"]["port"] == 6061
    assert good["settings"]["secret"] == "***"
    path = write(tmp_path, "log:\n  remainLogLevel: 9\n")
    code, text = run_config_check(path, {}, as_json=True)
    bad = json.loads(text)
    assert code == 1
    assert bad["ok"] is False
    assert bad["settings"] is None
    [problem] = bad["problems"]
    assert problem == {
        "file": str(path),
        "line": 2,
        "column": 3,
        "key": "log.remainLogLevel",
        "message": "Input should be less than or equal to 6",
        "text": f"{path}:2:3 log.remainLogLevel: Input should be less than or equal to 6",
    }


def test_port_clash_from_env_names_the_variable() -> None:
    """A gateway moved onto the API's port fails the check, naming the variable that did it."""
    report = check_config(None, {"OPENIM_MSGGATEWAY_PORTS": "10002"})
    assert not report.ok
    assert [str(p) for p in report.problems] == [
        "msggateway.ports.0: port 10002 is already taken by api.ports.0 (default); every listener needs a port of "
        "its own (from $OPENIM_MSGGATEWAY_PORTS)"
    ]


def test_port_clash_in_file_points_at_the_written_key(tmp_path: Path) -> None:
    """When the file puts admin on the gateway's default port, the problem sits at admin.port's line."""
    path = write(tmp_path, "secret: s\nadmin:\n  port: 10001\n")
    code, text = run_config_check(path, {})
    assert code == 1
    assert text.splitlines()[0] == (
        f"{path}:3:3 admin.port: port 10001 is already taken by msggateway.ports.0 (default); "
        "every listener needs a port of its own"
    )


def test_same_port_on_distinct_addresses_is_fine(tmp_path: Path) -> None:
    """Two listeners may share a port number on two specific addresses, but not beside a wildcard."""
    path = write(
        tmp_path,
        """
        api:
          listenIP: 127.0.0.1
          ports: [7000]
        admin:
          listenIP: 127.0.0.2
          port: 7000
        """,
    )
    assert check_config(path, {}).ok
    assert not check_config(path, {"OPENIM_API_LISTENIP": "0.0.0.0"}).ok
    assert not check_config(None, {"OPENIM_API_PORTS": "10002,10002"}).ok


def test_default_secret_draws_a_warning(tmp_path: Path) -> None:
    """OpenIM's published secret passes but is flagged, at its line in the file; a real secret is not."""
    report = check_config(SHIPPED, {})
    [warning] = report.warnings
    assert warning.key == "secret"
    line = SHIPPED.read_text().splitlines().index("secret: openIM123") + 1
    assert (warning.source, warning.line, warning.column) == (str(SHIPPED), line, 1)
    assert f"# warning: {warning}" in render_text(report)
    assert "openssl rand -hex 32" in warning.message and "env: production" in warning.message
    assert check_config(SHIPPED, {"OPENIM_SECRET": "something-else"}).warnings == []


def test_production_refuses_the_default_secret_at_its_line(tmp_path: Path) -> None:
    """With env: production the shipped secret is a problem at file:line:col, and the check exits 1."""
    code, text = run_config_check(SHIPPED, {"OPENIM_ENV": "production"})
    assert code == 1
    line = SHIPPED.read_text().splitlines().index("secret: openIM123") + 1
    assert text.splitlines()[0].startswith(
        f"{SHIPPED}:{line}:1 secret: is OpenIM's published default openIM123: anyone who can reach the REST API "
        "can get an admin token from /auth/get_admin_token; with env: production `openim start` refuses it: "
        "set a random secret of at least 16 characters in the config key `secret` or in $OPENIM_SECRET"
    )
    good = {"OPENIM_ENV": "production", "OPENIM_SECRET": "x" * 16}
    assert run_config_check(SHIPPED, good)[0] == 0
    assert check_config(SHIPPED, good).warnings == []


def test_production_refuses_a_short_secret(tmp_path: Path) -> None:
    """A secret of 15 characters fails in production, named with its length; development accepts it silently."""
    path = write(tmp_path, "env: production\nsecret: fifteen-chars-x\n")
    [problem] = check_config(path, {}).problems
    assert str(problem).startswith(f"{path}:2:1 secret: is 15 characters, fewer than 16: tokens are HMAC-SHA256")
    from_var = check_config(path, {"OPENIM_SECRET": "short"})
    assert [p.message.endswith("(from $OPENIM_SECRET)") for p in from_var.problems] == [True]
    assert check_config(path, {"OPENIM_ENV": "development"}).ok


def test_production_without_any_secret_points_at_env(tmp_path: Path) -> None:
    """When no secret is written anywhere, the problem sits at the `env: production` line that makes it one."""
    path = write(tmp_path, "api:\n  ports: [10002]\nenv: production\n")
    [problem] = check_config(path, {}).problems
    assert (problem.key, problem.line, problem.column) == ("env", 3, 1)
    assert "no secret is set and the built-in one is OpenIM's published default openIM123" in problem.message
    [from_var] = check_config(None, {"OPENIM_ENV": "production"}).problems
    assert str(from_var).startswith("env: is production, but no secret is set")
    assert str(from_var).endswith("(from $OPENIM_ENV)")


def test_env_takes_only_its_two_values(tmp_path: Path) -> None:
    """A misspelt env is a problem naming the variable it came from, not a silent development."""
    [problem] = check_config(None, {"OPENIM_ENV": "prod"}).problems
    assert str(problem) == "env: Input should be 'development' or 'production' (from $OPENIM_ENV)"


def test_exposed_admin_draws_a_warning() -> None:
    """An admin listener beyond loopback passes with a warning naming where it came from."""
    report = check_config(None, {"OPENIM_SECRET": "s", "OPENIM_ADMIN_LISTENIP": "0.0.0.0"})
    assert report.ok
    assert [str(w) for w in report.warnings] == [
        "admin.listenIP: exposes /metrics and /debug beyond this machine; keep 127.0.0.1 unless a trusted host "
        "must reach it (from $OPENIM_ADMIN_LISTENIP)"
    ]
    assert check_config(None, {"OPENIM_SECRET": "s", "OPENIM_ADMIN_LISTENIP": "localhost"}).warnings == []


def test_small_websocket_max_msg_len_draws_a_warning(tmp_path: Path) -> None:
    """OpenIM's listed 4096 passes but is flagged: OpenIM's gateway reads 51200-byte messages whatever it says."""
    path = write(tmp_path, "secret: s3cret\nmsggateway:\n  websocketMaxMsgLen: 4096\n")
    report = check_config(path, {})
    assert report.ok
    warning, inflate = report.warnings  # 4 x 4096 bytes is also too little for the largest message
    assert (warning.key, warning.line) == ("msggateway.websocketMaxMsgLen", 3)
    assert "below the 51200 bytes" in str(warning)
    assert inflate.key == "msggateway.websocketMaxInflateRatio"
    assert check_config(None, {"OPENIM_SECRET": "s", "OPENIM_MSGGATEWAY_WEBSOCKETMAXMSGLEN": "65536"}).warnings == []
    assert not check_config(None, {"OPENIM_SECRET": "s", "OPENIM_MSGGATEWAY_WEBSOCKETMAXMSGLEN": "100"}).ok


def test_inflate_limit_below_the_largest_message_draws_a_warning() -> None:
    """A gzip'd frame that may not inflate to msg.maxMsgLen is flagged: the largest messages could not be sent."""
    env = {"OPENIM_SECRET": "s", "OPENIM_MSGGATEWAY_WEBSOCKETMAXINFLATERATIO": "1"}
    [warning] = check_config(None, env).warnings
    assert warning.key == "msggateway.websocketMaxInflateRatio"
    assert "51200 bytes, less than msg.maxMsgLen (196608)" in str(warning)
    assert check_config(None, {**env, "OPENIM_MSG_MAXMSGLEN": "51200"}).warnings == []
    assert not check_config(None, {**env, "OPENIM_MSG_MAXMSGLEN": "800000"}).ok  # more than a pull may hold


def test_unknown_variables_draw_a_warning() -> None:
    """An OPENIM_* variable that sets no key is flagged with the likely name; OPENIM_CONFIG and tests' are not."""
    env = {
        "OPENIM_SECRET": "s",
        "OPENIM_API_PORT": "10003",
        "OPENIM_CONFIG": "",
        "OPENIM_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "HOME": "/root",
    }
    report = check_config(None, env)
    assert report.ok
    assert [str(w) for w in report.warnings] == [
        "$OPENIM_API_PORT: is not a setting and is ignored; did you mean $OPENIM_API_PORTS?"
    ]


def test_failure_text_lists_warnings_after_problems(tmp_path: Path) -> None:
    """On failure, warnings follow the problems, each marked as a warning."""
    code, text = run_config_check(None, {"OPENIM_ADMIN_PORT": "x", "OPENIM_APIPORTS": "1"})
    assert code == 1
    assert text.splitlines() == [
        "admin.port: Input should be a valid integer, unable to parse string as an integer (from $OPENIM_ADMIN_PORT)",
        "warning: $OPENIM_APIPORTS: is not a setting and is ignored; did you mean $OPENIM_API_PORTS?",
    ]
