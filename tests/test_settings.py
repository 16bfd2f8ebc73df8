"""Tests for openim.settings: the shipped config, the search order, env overrides, units, errors and masking."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from openim.settings import ConfigError, Problem, Settings, env_variables, find_config_path, load_settings

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path | None, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env or {})
    return [str(p) for p in caught.value.problems]


def leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += leaf_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line containing needle."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# --- the shipped config/config.yaml -------------------------------------------------------------------------


def test_shipped_config_equals_builtin_defaults() -> None:
    """Loading config/config.yaml with no environment gives exactly the built-in defaults."""
    assert load_settings(SHIPPED, {}) == Settings()


def test_shipped_config_names_every_key() -> None:
    """Every key of Settings is written out in config/config.yaml, and nothing else is."""
    data = yaml.safe_load(SHIPPED.read_text())

    def flatten(node: dict[str, Any], prefix: str = "") -> list[str]:
        out = []
        for key, value in node.items():
            out += flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
        return out

    assert sorted(flatten(data)) == sorted(leaf_keys(Settings))


def test_shipped_config_comments_every_key() -> None:
    """Each key and section of config/config.yaml has a comment right above it."""
    lines = SHIPPED.read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^\s*[A-Za-z]+:", line):
            assert lines[index - 1].lstrip().startswith("#"), f"line {index + 1} has no comment: {line!r}"


def test_defaults_are_openims() -> None:
    """The defaults are OpenIM's: secret, admin user, 90-day tokens, policy 1, ports 10002/10001, level 6."""
    s = Settings()
    assert s.secret.get_secret_value() == "openIM123"
    assert s.imAdminUser.userIDs == ["imAdmin"]
    assert s.imAdminUser.nicknames == ["superAdmin"]
    assert s.tokenPolicy.expire == 90 * 86400
    assert (s.multiLogin.policy, s.multiLogin.maxNumOneEnd) == (1, 30)
    assert (s.api.listenIP, s.api.ports) == ("0.0.0.0", [10002])
    assert (s.msggateway.ports, s.msggateway.websocketMaxConnNum) == ([10001], 100000)
    assert (s.msggateway.websocketMaxMsgLen, s.msggateway.websocketTimeout) == (51200, 10)
    assert (s.admin.listenIP, s.admin.port) == ("127.0.0.1", 6060)
    assert s.database.url == "sqlite:///data/openim.db"
    assert s.redis.url is None
    assert s.log.remainLogLevel == 6


# --- where the file is found ----------------------------------------------------------------------------------


def test_search_prefers_the_explicit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config wins over $OPENIM_CONFIG and over ./config/config.yaml."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "secret: local\n", "config/config.yaml")
    env = {"OPENIM_CONFIG": str(write(tmp_path, "secret: from-env\n", "env.yaml"))}
    explicit = write(tmp_path, "secret: explicit\n", "explicit.yaml")
    assert find_config_path(explicit, env) == explicit


def test_search_uses_openim_config_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config, $OPENIM_CONFIG wins over ./config/config.yaml."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "secret: local\n", "config/config.yaml")
    env_file = write(tmp_path, "secret: from-env\n", "env.yaml")
    found = find_config_path(None, {"OPENIM_CONFIG": str(env_file)})
    assert found == env_file
    assert load_settings(found, {}).secret.get_secret_value() == "from-env"


def test_search_falls_back_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config or $OPENIM_CONFIG, ./config/config.yaml of the working directory is used."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "secret: local\n", "config/config.yaml")
    found = find_config_path(None, {})
    assert found == Path("config/config.yaml")
    assert load_settings(found, {}).secret.get_secret_value() == "local"


def test_search_ends_with_builtin_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no file anywhere there is no path, and loading without one gives the defaults."""
    monkeypatch.chdir(tmp_path)
    assert find_config_path(None, {}) is None
    assert find_config_path(None, {"OPENIM_CONFIG": ""}) is None
    assert load_settings(None, {}) == Settings()


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    """A --config path that does not exist is reported, not silently replaced by the defaults."""
    missing = tmp_path / "nope.yaml"
    assert find_config_path(missing, {}) == missing
    assert problems_of(missing) == [f"{missing}: (top level): cannot read the file: No such file or directory"]


# --- environment overrides ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "value", "read"),
    [
        ("OPENIM_SECRET", "s3cret!", lambda s: s.secret.get_secret_value()),
        ("OPENIM_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test", lambda s: s.database.url),
        ("OPENIM_REDIS_URL", "redis://127.0.0.1:6379/0", lambda s: s.redis.url),
        ("OPENIM_API_PORTS", "10002", lambda s: s.api.ports),
        ("OPENIM_MSGGATEWAY_PORTS", "10011", lambda s: s.msggateway.ports),
        ("OPENIM_ADMIN_PORT", "6061", lambda s: s.admin.port),
    ],
)
def test_issue_env_examples(var: str, value: str, read: Any) -> None:
    """Each environment variable named in the issue overrides its key, with the value parsed to the key's type."""
    expected: Any = {
        "OPENIM_API_PORTS": [10002],
        "OPENIM_MSGGATEWAY_PORTS": [10011],
        "OPENIM_ADMIN_PORT": 6061,
    }.get(var, value)
    assert read(load_settings(None, {var: value})) == expected
    assert read(load_settings(SHIPPED, {var: value})) == expected


def test_env_beats_the_file(tmp_path: Path) -> None:
    """A variable wins over the value written in the file."""
    path = write(tmp_path, "admin:\n  port: 7000\n")
    assert load_settings(path, {"OPENIM_ADMIN_PORT": "6061"}).admin.port == 6061


def test_env_lists_are_comma_separated() -> None:
    """List keys take comma-separated values, spaces and empty items ignored."""
    s = load_settings(None, {"OPENIM_API_PORTS": "10002, 10003,", "OPENIM_IMADMINUSER_USERIDS": "imAdmin,ops"})
    assert s.api.ports == [10002, 10003]
    assert s.imAdminUser.userIDs == ["imAdmin", "ops"]


def test_env_booleans_and_bad_values_name_the_variable() -> None:
    """Booleans accept true/false/1/0/yes/no; a value that parses as nothing names its variable."""
    assert load_settings(None, {"OPENIM_LOG_ISSTDOUT": "TRUE", "OPENIM_LOG_ISJSON": "0"}).log.isStdout is True
    assert problems_of(None, {"OPENIM_LOG_ISJSON": "maybe", "OPENIM_ADMIN_PORT": "abc"}) == [
        "admin.port: Input should be a valid integer, unable to parse string as an integer (from $OPENIM_ADMIN_PORT)",
        "log.isJson: Input should be a valid boolean, unable to interpret input (from $OPENIM_LOG_ISJSON)",
    ]
    assert problems_of(None, {"OPENIM_API_PORTS": "10002,x"}) == [
        "api.ports.1: Input should be a valid integer, unable to parse string as an integer (from $OPENIM_API_PORTS)"
    ]


def test_empty_redis_url_means_in_process() -> None:
    """OPENIM_REDIS_URL= (empty) unsets Redis, even when the file sets it."""
    assert load_settings(None, {"OPENIM_REDIS_URL": ""}).redis.url is None


def test_env_does_not_hide_a_broken_section(tmp_path: Path) -> None:
    """A section the file spells as a scalar is still reported when a variable sets one of its keys."""
    path = write(tmp_path, "api: 10002\n")
    assert problems_of(path, {"OPENIM_API_PORTS": "10002"}) == [
        f"{path}:1:1 api: Input should be a valid dictionary or instance of Api"
    ]


def test_env_variables_cover_every_key() -> None:
    """Every key has one variable, OPENIM_ + its path upper-cased with dots as underscores."""
    variables = env_variables()
    assert sorted(variables.values()) == sorted(leaf_keys(Settings))
    assert variables["OPENIM_API_PORTS"] == "api.ports"
    assert variables["OPENIM_IMADMINUSER_USERIDS"] == "imAdminUser.userIDs"
    assert variables["OPENIM_TOKENPOLICY_EXPIRE"] == "tokenPolicy.expire"


# --- tokenPolicy.expire units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("90", 90 * 86400),
        ("7", 7 * 86400),
        ("'90'", 90 * 86400),
        ("90d", 90 * 86400),
        ("168h", 168 * 3600),
        ("30m", 30 * 60),
        ("3600s", 3600),
    ],
)
def test_expire_units(tmp_path: Path, written: str, seconds: int) -> None:
    """A bare number is days as in OpenIM; d, h, m and s spell the unit; the value is held in seconds."""
    path = write(tmp_path, f"tokenPolicy:\n  expire: {written}\n")
    assert load_settings(path, {}).tokenPolicy.expire == seconds


def test_expire_from_env_is_days_too() -> None:
    """OPENIM_TOKENPOLICY_EXPIRE=168h and =7 read like the file does."""
    assert load_settings(None, {"OPENIM_TOKENPOLICY_EXPIRE": "168h"}).tokenPolicy.expire == 168 * 3600
    assert load_settings(None, {"OPENIM_TOKENPOLICY_EXPIRE": "7"}).tokenPolicy.expire == 7 * 86400


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("1w", "'1w' is not a duration; write 90 (days), 90d, 168h, 30m or 3600s"),
        ("0", "must be positive"),
        ("-1", "must be positive"),
        ("true", "must be a duration such as 90, 90d or 168h"),
        ("1.5", "must be a duration such as 90, 90d or 168h"),
    ],
)
def test_expire_bad_values_are_placed(tmp_path: Path, written: str, message: str) -> None:
    """A bad duration is reported at the line and column of its key, with the accepted spellings."""
    path = write(tmp_path, f"secret: x\ntokenPolicy:\n  expire: {written}\n")
    assert problems_of(path) == [f"{path}:3:3 tokenPolicy.expire: {message}"]


def test_expire_dumps_with_its_unit() -> None:
    """The JSON form spells the unit, so a dump loads back to the same number of seconds."""
    for seconds, text in [(90 * 86400, "90d"), (168 * 3600, "7d"), (36 * 3600, "36h"), (1800, "30m"), (61, "61s")]:
        s = Settings(tokenPolicy={"expire": f"{seconds}s"})
        assert s.model_dump(mode="json")["tokenPolicy"]["expire"] == text
        assert Settings.model_validate(s.model_dump(mode="json")).tokenPolicy == s.tokenPolicy


# --- bad values and files ---------------------------------------------------------------------------------------


def test_bad_values_point_at_line_and_column(tmp_path: Path) -> None:
    """Every problem in a file is reported at once, each as file:line:col key.path: message."""
    path = write(
        tmp_path,
        """
        secret: ok
        multiLogin:
          policy: 2
        api:
          ports: [10002, 70000]
        msggateway:
          websocketMaxMsgLen: lots
        """,
    )
    assert problems_of(path) == [
        f"{path}:3:3 multiLogin.policy: must be 0 (keep up to maxNumOneEnd per platform), 1 (one per platform), "
        "4 (one per platform class) or 5 (PC and one other)",
        f"{path}:5:18 api.ports.1: Input should be less than or equal to 65535",
        f"{path}:7:3 msggateway.websocketMaxMsgLen: Input should be a valid integer, unable to parse string as an "
        "integer",
    ]


def test_constraint_errors_name_the_rule(tmp_path: Path) -> None:
    """Empty admin lists, an empty secret and an unsupported database are refused with the reason."""
    path = write(
        tmp_path,
        """
        secret: ''
        imAdminUser:
          userIDs: []
        database:
          url: mysql://root@localhost/openim
        """,
    )
    assert problems_of(path) == [
        f"{path}:1:1 secret: must not be empty: tokens are signed with it",
        f"{path}:3:3 imAdminUser.userIDs: List should have at least 1 item after validation, not 0",
        f"{path}:5:3 database.url: must start with sqlite:/// or postgresql://",
    ]


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    """A YAML syntax error is one problem at the line and column where the parser stopped."""
    path = write(
        tmp_path,
        """
        secret: openIM123
        api:
          listenIP: 0.0.0.0
          ports: [10002
        admin:
          port: 6060
        """,
    )
    [problem] = problems_of(path)
    assert re.fullmatch(rf"{re.escape(str(path))}:5:\d+ \(top level\): YAML syntax: .+", problem)


def test_tab_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    """A tab used for indentation is reported on its own line."""
    path = tmp_path / "config.yaml"
    path.write_text("secret: x\nlog:\n\tisJson: true\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:3:")
    assert "YAML syntax" in problem


def test_file_must_be_a_mapping(tmp_path: Path) -> None:
    """A file that holds a list instead of keys is refused at line 1."""
    path = write(tmp_path, "- secret\n- openIM123\n")
    assert problems_of(path) == [f"{path}:1:1 (top level): the file must hold a mapping of keys"]


def test_empty_file_and_empty_sections_mean_defaults(tmp_path: Path) -> None:
    """An empty file, or a section whose keys are all commented out, leaves the defaults in place."""
    assert load_settings(write(tmp_path, "# nothing yet\n"), {}) == Settings()
    commented = write(tmp_path, "redis:\n  # url: redis://127.0.0.1:6379/0\nlog:\n", "sections.yaml")
    assert load_settings(commented, {}) == Settings()


# --- unknown keys -----------------------------------------------------------------------------------------------


def test_unknown_keys_suggest_the_right_spelling(tmp_path: Path) -> None:
    """An unknown key is placed and names the key that was probably meant (keys are case-sensitive here)."""
    path = write(
        tmp_path,
        """
        imAdminUser:
          userIds: [imAdmin]
        tokenpolicy:
          expire: 90
        log:
          colour: true
        """,
    )
    assert sorted(problems_of(path)) == [
        f"{path}:2:3 imAdminUser.userIds: unknown key; did you mean userIDs?",
        f"{path}:3:1 tokenpolicy: unknown key; did you mean tokenPolicy?",
        f"{path}:6:3 log.colour: unknown key; expected one of: storageLocation, rotationTime, remainRotationCount, "
        "remainLogLevel, isStdout, isJson",
    ]


def test_openim_only_sections_are_unknown(tmp_path: Path) -> None:
    """OpenIM keys with no meaning here (mongo, kafka) are reported rather than silently ignored."""
    path = write(tmp_path, "mongo:\n  uri: mongodb://x\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:1:1 mongo: unknown key")


# --- problems and masking ---------------------------------------------------------------------------------------


def test_problem_text_forms() -> None:
    """A problem prints as file:line:col key: message, degrading when position or file are unknown."""
    assert str(Problem("api.ports", "bad", "c.yaml", 3, 5)) == "c.yaml:3:5 api.ports: bad"
    assert str(Problem("api.ports", "bad", "c.yaml")) == "c.yaml: api.ports: bad"
    assert str(Problem("api.ports", "bad")) == "api.ports: bad"
    assert str(ConfigError([Problem("a", "x"), Problem("b", "y")])) == "a: x\nb: y"


def test_masked_hides_the_secret() -> None:
    """masked() replaces the secret, and the secret appears nowhere in its output."""
    s = load_settings(None, {"OPENIM_SECRET": "tops3cret"})
    data = s.masked()
    assert data["secret"] == "***"
    assert "tops3cret" not in json.dumps(data)
    assert "tops3cret" not in repr(s)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://openim:pw@db:5432/openim", "postgresql://openim:***@db:5432/openim"),
        ("postgresql://openim:p@ss@db:5432/openim", "postgresql://openim:***@db:5432/openim"),
        ("postgresql+asyncpg://u:a/b@db/openim", "postgresql+asyncpg://u:***@db/openim"),
        (
            "postgresql://db/openim?user=u&password=pw&sslmode=require",
            "postgresql://db/openim?user=u&password=***&sslmode=require",
        ),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/test"),
        ("sqlite:///data/openim.db", "sqlite:///data/openim.db"),
    ],
)
def test_masked_hides_database_passwords(url: str, masked: str) -> None:
    """Database URL passwords are masked wherever they are written, and URLs without one are left alone."""
    assert load_settings(None, {"OPENIM_DATABASE_URL": url}).masked()["database"]["url"] == masked


def test_masked_hides_redis_passwords() -> None:
    """A Redis URL's password (redis://:PASSWORD@host) is masked; an unset URL stays null."""
    s = load_settings(None, {"OPENIM_REDIS_URL": "redis://:hunter2@127.0.0.1:6379/0"})
    assert s.masked()["redis"]["url"] == "redis://:***@127.0.0.1:6379/0"
    assert Settings().masked()["redis"]["url"] is None


def test_masked_hides_the_etcd_password() -> None:
    """discovery.etcd.password is masked; an empty one stays empty."""
    s = load_settings(None, {"OPENIM_DISCOVERY_ETCD_PASSWORD": "etcd-pw-1"})
    assert s.masked()["discovery"]["etcd"]["password"] == "***"
    assert "etcd-pw-1" not in json.dumps(s.masked())
    assert Settings().masked()["discovery"]["etcd"]["password"] == ""


# --- discovery --------------------------------------------------------------------------------------------------


def test_openim_discovery_section_carries_over(tmp_path: Path) -> None:
    """OpenIM's discovery.yml etcd section loads as written there: blank username/password, its address list."""
    path = write(
        tmp_path,
        """
        discovery:
          enable: etcd
          etcd:
            rootDirectory: openim
            address: [localhost:12379, http://10.0.0.7:2379]
            username:
            password:
        """,
    )
    d = load_settings(path, {}).discovery
    assert (d.enable, d.etcd.rootDirectory, d.etcd.address) == (
        "etcd",
        "openim",
        ["localhost:12379", "http://10.0.0.7:2379"],
    )
    assert (d.etcd.username, d.etcd.password.get_secret_value(), d.ttl) == ("", "", 30)


def test_discovery_root_directory_loses_its_slashes() -> None:
    """rootDirectory /openim/ is openim: keys are always /<root>/..., however the setting is slashed."""
    assert load_settings(None, {"OPENIM_DISCOVERY_ETCD_ROOTDIRECTORY": "/im/"}).discovery.etcd.rootDirectory == "im"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENIM_DISCOVERY_ENABLE": "kubernetes"}, "discovery.enable: kubernetes is not supported by openim-py"),
        ({"OPENIM_DISCOVERY_ENABLE": "redis"}, "discovery.enable is redis but redis.url is not set"),
        ({"OPENIM_DISCOVERY_ETCD_ADDRESS": "localhost"}, "'localhost' is not host:port"),
        ({"OPENIM_DISCOVERY_ETCD_ROOTDIRECTORY": "//"}, "must be a path segment"),
        ({"OPENIM_DISCOVERY_TTL": "1"}, "discovery.ttl: Input should be greater than or equal to 2"),
    ],
)
def test_discovery_mistakes_are_refused(env: dict[str, str], expected: str) -> None:
    """A backend openim-py lacks, Redis discovery without Redis, an address without a port, a TTL under 2 s."""
    [problem] = problems_of(None, env)
    assert expected in problem
