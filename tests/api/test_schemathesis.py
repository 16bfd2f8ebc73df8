"""schemathesis over /openapi.json against a live server: every operation keeps the contract it declares.

A real `openim start api` (uvicorn on free ports, embedded SQLite; PostgreSQL in the second run) is called with
bodies schemathesis derives from each operation's request schema, once with an admin token and once with a
user's. Every answer must be: no HTTP 5xx, no errCode 500, and exactly what the operation declares (status,
Content-Type, the envelope with its `data` schema — tests/api/test_openapi.py checks that the declarations are
complete). Each operation is also called without its token and with an empty body: the middleware's and the
validator's errors must be the declared envelope too.

Cost is bounded: OPENIM_SCHEMATHESIS_EXAMPLES cases per operation and token (default 5 on SQLite, 3 on
PostgreSQL), generated deterministically (derandomize) so a CI failure reproduces; no shrinking. Set
OPENIM_SCHEMATHESIS_EXAMPLES=50 (and OPENIM_SCHEMATHESIS_RANDOM=1 for fresh cases each run) to dig deeper by hand.
The run prints the time taken, the cases sent and the errCodes seen.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import empty_db_url
from tests.process import ServerProcess, start_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {"sqlite": 5, "postgres": 3}
USER = "st_user"


@dataclass
class Run:
    """What one token's pass over every operation saw."""

    cases: int = 0
    err_codes: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {}
    if request.param == "postgres":
        url = await empty_db_url(request, "postgres", tmp_path)
        env["OPENIM_DATABASE_URL"] = url.replace("postgresql+asyncpg://", "postgresql://")
    proc = start_server(tmp_path, "api", **env)
    proc.database = request.param  # type: ignore[attr-defined]
    yield proc
    proc.stop()


# --- the runs --------------------------------------------------------------------------------------------------


def _err_code(response: Any) -> int | None:
    if not response.headers.get("content-type", [""])[0].startswith("application/json"):
        return None
    body = response.json()
    return body.get("errCode") if isinstance(body, dict) else None


def _sweep(schema: Any, base: str, token: Callable[[], str], examples: int, run: Run) -> None:
    """Every operation with `examples` generated cases, a fresh `token()` in the token header where one is declared
    (a case may log its own caller out with /auth/force_logout; the next operation starts with a valid token)."""
    for result in schema.get_all_operations():
        operation = result.ok()
        headers = {"token": token()} if any(p.name == "token" for p in operation.headers) else {}
        try:
            _fuzz(operation, base, headers, examples, run)
        except Exception as exc:  # collect every operation's failure, then fail once with all of them
            run.failures[operation.label] = str(exc)[:2000]


def _fuzz(operation: Any, base: str, headers: dict[str, str], examples: int, run: Run) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=os.environ.get("OPENIM_SCHEMATHESIS_RANDOM") != "1",
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        print_blob=False,
    )
    @given(case=operation.as_strategy(headers=headers))
    def call(case: Any) -> None:
        response = case.call(base_url=base, allow_redirects=False, timeout=30)
        run.cases += 1
        code = _err_code(response)
        if code is not None:
            run.err_codes[code] += 1
        case.validate_response(response, checks=CHECKS)
        assert code != 500, f"errCode 500 for {case.body!r}: {response.text[:300]}"

    call()


def _errors(schema: Any, base: str, token: str, run: Run) -> None:
    """Each POST without its token, and with an empty body: the declared error envelope, never a 500."""
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "POST":
            continue
        takes_token = any(p.name == "token" for p in operation.headers)
        tries = [({"operationID": "st-no-token"}, {})] if takes_token else []
        tries.append(({"operationID": "st-empty", **({"token": token} if takes_token else {})}, None))
        for headers, body in tries:
            if body is None:
                case = operation.Case(headers=headers, media_type="application/json")
            else:
                case = operation.Case(headers=headers, body=body, media_type="application/json")
            response = case.call(base_url=base, allow_redirects=False, timeout=30)
            run.cases += 1
            code = _err_code(response)
            if code is not None:
                run.err_codes[code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
                assert code not in (None, 0, 500), response.text[:300]
            except Exception as exc:
                run.failures[f"{operation.label} ({headers}, body={body})"] = str(exc)[:2000]


def _report(name: str, run: Run, seconds: float) -> None:
    print(f"\nschemathesis {name}: {run.cases} calls in {seconds:.1f} s; errCodes {dict(run.err_codes.most_common())}")


def _server_errors(server: ServerProcess) -> str:
    """The ERROR lines (and tracebacks) of the server's logs, for failure messages."""
    lines = [
        line
        for log in sorted(server.cwd.rglob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if " ERROR " in line or line.startswith(("Traceback", "  File", "    ")) or "Error:" in line
    ]
    return "\n".join(lines[-60:])


def _data(server: ServerProcess, path: str, body: dict[str, Any], token: str = "") -> Any:
    answer = server.post(path, body, token)
    assert answer["errCode"] == 0, f"{path}: {answer}\n{_server_errors(server)}"
    return answer.get("data")


@pytest.mark.slow
def test_every_operation_keeps_its_contract(server: ServerProcess) -> None:
    """No 5xx, no errCode 500, every answer as declared; with an admin and a user token, then without one."""
    database: str = server.database  # type: ignore[attr-defined]
    examples = int(os.environ.get("OPENIM_SCHEMATHESIS_EXAMPLES", EXAMPLES[database]))
    base = f"http://127.0.0.1:{server.api}"

    def admin() -> str:
        return str(_data(server, "/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["token"])

    def user() -> str:
        return str(_data(server, "/auth/get_user_token", {"userID": USER, "platformID": 1}, admin())["token"])

    _data(server, "/user/user_register", {"users": [{"userID": USER, "nickname": USER}]}, admin())
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    assert len(list(schema.get_all_operations())) >= 130
    failures: dict[str, str] = {}
    for name, token in (("admin", admin), ("user", user)):
        run, started = Run(), time.monotonic()
        _sweep(schema, base, token, examples, run)
        _report(f"{database}/{name}, {examples} per operation", run, time.monotonic() - started)
        failures.update({f"[{name}] {k}": v for k, v in run.failures.items()})
    run, started = Run(), time.monotonic()
    _errors(schema, base, user(), run)
    _report(f"{database}/errors", run, time.monotonic() - started)
    failures.update(run.failures)
    assert server.proc.poll() is None, "the server died"
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items()) + "\n" + _server_errors(server)
