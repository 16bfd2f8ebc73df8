"""REST conventions of docs/protocol/rest.md §1-§2: headers, envelope, Go-style JSON, decoding errors, CORS, unknown
routes."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from tests.api.conftest import Api


async def test_missing_operation_id_is_1001_before_the_token_check(api: Api) -> None:
    """A POST without operationID gets 1001 "header must have operationID", even without a token."""
    resp = await api.http.post("/user/get_users_info", json={"userIDs": ["x"]})
    assert resp.status_code == 200
    assert resp.json() == {"errCode": 1001, "errMsg": "ArgsError", "errDlt": "header must have operationID"}


async def test_unknown_post_route_still_checks_operation_id(api: Api) -> None:
    """Global middleware runs before routing, as in OpenIM: an unknown POST without operationID gets JSON 1001."""
    resp = await api.http.post("/no/such/route", json={})
    assert resp.json()["errCode"] == 1001


async def test_unknown_route_with_headers_is_a_plain_404(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """An unknown route that passes the middleware answers gin's plain-text 404, logged as 404 (not errCode 0)."""
    token = await api.admin_token()
    with caplog.at_level(logging.INFO, logger="openim.api"):
        resp = await api.http.post("/no/such/route", json={}, headers={"operationID": "1", "token": token})
    assert resp.status_code == 404
    assert resp.text == "404 page not found"
    (line,) = [r for r in caplog.records if getattr(r, "route", "") == "/no/such/route"]
    assert line.errCode == 404  # type: ignore[attr-defined]


async def test_missing_token_is_1001(api: Api) -> None:
    """A non-whitelisted POST without token gets 1001 "header must have token"."""
    result = await api.post("/user/get_users_info", {"userIDs": ["x"]})
    assert result == {"errCode": 1001, "errMsg": "ArgsError", "errDlt": "header must have token"}


async def test_garbage_token_is_1503(api: Api) -> None:
    """An unparsable token is TokenMalformedError."""
    result = await api.post("/user/get_users_info", {"userIDs": ["x"]}, token="not-a-jwt")
    assert result["errCode"] == 1503
    assert "data" not in result


async def test_success_envelope_has_empty_strings_and_data(api: Api) -> None:
    """Success is errCode 0 with empty errMsg/errDlt and the data object."""
    result = await api.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})
    assert result["errCode"] == 0 and result["errMsg"] == "" and result["errDlt"] == ""
    assert set(result["data"]) == {"token", "expireTimeSeconds"}


async def test_void_success_has_no_data_key(api: Api) -> None:
    """An empty response message prints as exactly {errCode, errMsg, errDlt}."""
    admin = await api.admin_token()
    result = await api.post("/user/user_register", {"users": [{"userID": "u1", "nickname": "n"}]}, token=admin)
    assert result == {"errCode": 0, "errMsg": "", "errDlt": ""}


async def test_empty_lists_are_null_or_empty_as_in_openim(api: Api) -> None:
    """A nil Go slice prints null, an empty one []: get_users_info's converted list is [] (datautil.Slice),
    get_all_users_uid's page past the end is null (a Mongo find of nothing)."""
    token = await api.admin_token()
    data = await api.ok("/user/get_users_info", {"userIDs": ["nobody"]}, token=token)
    assert data == {"usersInfo": []}
    page = await api.ok("/user/get_all_users_uid", {"pagination": {"pageNumber": 9, "showNumber": 5}}, token=token)
    assert page == {"total": 1, "userIDs": None}


@pytest.mark.parametrize(
    ("raw", "expect"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "request body is empty"),
        (b'{"userIDs": "u1"}', "userIDs"),
        (b'{"userIDs": [1]}', "userIDs[0]"),
    ],
)
async def test_bad_bodies_are_1001_with_a_useful_detail(api: Api, raw: bytes, expect: str) -> None:
    """Malformed JSON, an empty body and wrong types answer 1001 naming the problem, never a 422 or 500."""
    token = await api.admin_token()
    result = await api.post("/user/get_users_info", raw=raw, token=token, headers={"Content-Type": "application/json"})
    assert result["errCode"] == 1001
    assert expect in result["errDlt"]


async def test_int_fields_reject_strings_and_fractions(api: Api) -> None:
    """Types are strict as in Go: "5" or 5.5 for platformID is 1001."""
    admin = await api.admin_token()
    for bad in ("5", 5.5, True):
        result = await api.post("/auth/get_user_token", {"userID": "u", "platformID": bad}, token=admin)
        assert result["errCode"] == 1001, bad


async def test_request_keys_match_case_insensitively(api: Api) -> None:
    """{"UserID": ...} binds to userID, as Go's encoding/json does; unknown keys are ignored."""
    result = await api.post("/auth/get_admin_token", {"SECRET": "openIM123", "UserId": "imAdmin", "extra": [1]})
    assert result["errCode"] == 0


async def test_null_body_is_zero_request(api: Api) -> None:
    """A JSON null body decodes to the zero request, then fails the route's own check (1001)."""
    result = await api.post("/auth/get_admin_token", raw=b"null", headers={"Content-Type": "application/json"})
    assert result["errCode"] in (1001, 1002)


async def test_options_preflight_and_cors_headers(api: Api) -> None:
    """OPTIONS on any path answers 200 "Options Request!"; every response carries OpenIM's CORS headers."""
    resp = await api.http.options("/user/get_users_info", headers={"Origin": "http://web.example"})
    assert resp.status_code == 200
    assert resp.json() == "Options Request!"
    assert resp.headers["access-control-allow-origin"] == "*"
    result = await api.http.post("/auth/parse_token", json={"token": ""}, headers={"operationID": "1"})
    assert result.headers["access-control-allow-origin"] == "*"
    assert result.headers["access-control-allow-headers"] == "*"


async def test_internal_error_is_500_envelope_without_stack(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """A database failure answers errCode 500 ServerInternalError, logs it with the operationID, shows no traceback."""
    token = await api.admin_token()
    db = api.runtime.storage.db
    async with db.write("test.break_user_table") as conn:
        await conn.execute(text('ALTER TABLE "user" RENAME TO user_gone'))
    try:
        with caplog.at_level(logging.ERROR, logger="openim.api"):
            result = await api.post("/user/get_users_info", {"userIDs": ["x"]}, token=token)
    finally:
        async with db.write("test.mend_user_table") as conn:
            await conn.execute(text('ALTER TABLE user_gone RENAME TO "user"'))
    assert result == {"errCode": 500, "errMsg": "ServerInternalError", "errDlt": "internal error, see the server log"}
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.operationID.startswith("op-")  # type: ignore[attr-defined]
    after = await api.post("/user/get_users_info", {"userIDs": ["imAdmin"]}, token=token)
    assert after["errCode"] == 0


async def test_openapi_schema_lists_the_routes(api: Api) -> None:
    """The OpenAPI schema at /openapi.json names the OpenIM routes and their bodies."""
    resp = await api.http.get("/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    assert "/auth/get_admin_token" in paths and "/user/user_register" in paths
    docs = await api.http.get("/docs")
    assert docs.status_code == 200


async def test_healthz(api: Api) -> None:
    """GET /healthz answers 200 without operationID or token."""
    resp = await api.http.get("/healthz")
    assert resp.status_code == 200 and resp.json()["status"] == "ok"


async def test_gzip_when_asked(api: Api) -> None:
    """Large responses are gzip-compressed when the client sends Accept-Encoding: gzip (the Go SDK does)."""
    admin = await api.admin_token()
    users = [{"userID": f"user{i:04d}", "nickname": "n" * 40} for i in range(60)]
    await api.ok("/user/user_register", {"users": users}, token=admin)
    resp = await api.http.post(
        "/user/get_users_info",
        json={"userIDs": [u["userID"] for u in users]},
        headers={"operationID": "1", "token": admin, "Accept-Encoding": "gzip"},
    )
    assert resp.headers.get("content-encoding") == "gzip"
    assert len(resp.json()["data"]["usersInfo"]) == 60
