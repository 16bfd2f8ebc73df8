"""Fake push vendors on loopback, speaking the real APIs' requests and answers: FCM (OAuth2 token endpoint and HTTP
v1 send), JPush (REST v3 push), Getui (REST v2 auth and pushes) and an app server's push webhook.

The real endpoints cannot be reached from the machines the tests run on, so each fake checks what the real service
checks (the RS256 assertion against the service account's public key, HTTP Basic credentials, Getui's SHA-256
sign and token header), records every request, and answers as the vendor documents it, errors included: FCM's
UNREGISTERED and INVALID_ARGUMENT on `message.token`, JPush's 1004 and 1011, Getui's 10001. `fail_next(status)`
makes the next requests answer an error status (a vendor outage). Each fake is a threaded HTTP server, so a child
`openim start` process can reach it as well as the test's own event loop.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

Answer = tuple[int, dict[str, Any]]


@dataclass
class Request:
    """One request a fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))


@dataclass
class FakeServer:
    """A threaded HTTP server on 127.0.0.1 whose `route(request)` decides each answer."""

    route: Callable[[Request], Answer]
    requests: list[Request] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next `times` requests answer `status` with an empty JSON object."""
        with self._lock:
            self.failures += [status] * times

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = Request(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                with fake._lock:
                    fake.requests.append(request)
                    forced = fake.failures.pop(0) if fake.failures else None
                status, body = (forced, {}) if forced is not None else fake.route(request)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def to(self, suffix: str) -> list[Request]:
        """The requests whose path ends with `suffix`."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(suffix)]


# --- FCM ---------------------------------------------------------------------------------------------------------

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
MALFORMED_TOKEN = {
    "error": {
        "code": 400,
        "message": "The registration token is not a valid FCM registration token",
        "status": "INVALID_ARGUMENT",
        "details": [
            {"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"},
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "message.token", "description": "Invalid registration token"}],
            },
        ],
    }
}

# --- FCM (endpoints) ---------------------------------------------------------------------------------------------


class FakeFcm:
    """Google's OAuth2 token endpoint (`/token`) and FCM HTTP v1 (`/v1/projects/<id>/messages:send`)."""

    SCOPE = "https://www.googleapis.com/auth/firebase.messaging"

    def __init__(self, project_id: str = "demo-project") -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_key = key.public_key()
        self.project_id = project_id
        self.client_email = f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com"
        self.unregistered: set[str] = set()
        self.issued: set[str] = set()
        self._ids = itertools.count(1)
        self.server = FakeServer(self._route).start()

    def service_account(self) -> dict[str, str]:
        """The key file Firebase hands out, its token_uri pointing here."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": "k1",
            "private_key": self.private_pem,
            "client_email": self.client_email,
            "token_uri": f"{self.server.url}/token",
        }

    def revoke_tokens(self) -> None:
        """Every access token issued so far stops working (FCM answers 401)."""
        self.issued.clear()

    def sent(self) -> list[dict[str, Any]]:
        """The `message` of every send FCM accepted or refused, in order."""
        return [r.json()["message"] for r in self.server.to(":send")]

    def _route(self, request: Request) -> Answer:
        if request.path == "/token":
            return self._token(request)
        if request.path == f"/v1/projects/{self.project_id}/messages:send":
            return self._send(request)
        return 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}

    def _token(self, request: Request) -> Answer:
        form = request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form.get("assertion", ""), self.public_key, algorithms=["RS256"], audience=f"{self.server.url}/token"
            )
        except jwt.PyJWTError as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)}
        if claims.get("iss") != self.client_email or claims.get("scope") != self.SCOPE:
            return 400, {"error": "invalid_scope"}
        token = f"ya29.fake-{next(self._ids)}"
        self.issued.add(token)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _send(self, request: Request) -> Answer:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued:
            return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                   "status": "UNAUTHENTICATED"}}  # fmt: skip
        token = request.json()["message"]["token"]
        if token in self.unregistered:
            return 404, {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
                                   "details": [{"@type": FCM_ERROR, "errorCode": "UNREGISTERED"}]}}  # fmt: skip
        if token.startswith("malformed"):
            return 400, MALFORMED_TOKEN
        return 200, {"name": f"projects/{self.project_id}/messages/{next(self._ids)}"}


# --- JPush -------------------------------------------------------------------------------------------------------


class FakeJPush:
    """JPush's `POST /v3/push` with HTTP Basic appKey:masterSecret; `devices` are the aliases with a device."""

    def __init__(self, app_key: str = "jp-key", master_secret: str = "jp-secret") -> None:
        self.app_key, self.master_secret = app_key, master_secret
        self.devices: set[str] = set()
        self._ids = itertools.count(1)
        self.server = FakeServer(self._route).start()

    @property
    def push_url(self) -> str:
        return f"{self.server.url}/v3/push"

    def pushes(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.server.to("/v3/push")]

    def _route(self, request: Request) -> Answer:
        expected = "Basic " + base64.b64encode(f"{self.app_key}:{self.master_secret}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return 401, {"error": {"code": 1004, "message": "Authen failed"}}
        body = request.json()
        aliases = body.get("audience", {}).get("alias", [])
        if not aliases or "notification" not in body or "platform" not in body:
            return 400, {"error": {"code": 1003, "message": "Missing parameter !"}}
        if not set(aliases) & self.devices:
            return 400, {"error": {"code": 1011, "message": "cannot find user by this audience or has been inactive "
                                   "for more than 255 days"}}  # fmt: skip
        return 200, {"sendno": "0", "msg_id": str(next(self._ids))}


# --- Getui -------------------------------------------------------------------------------------------------------


class FakeGetui:
    """Getui REST v2 under `/v2/<appId>`: auth by sign, then single and list pushes by alias with the token."""

    def __init__(self, app_id: str = "gt-app", app_key: str = "gt-key", master_secret: str = "gt-secret") -> None:
        self.app_id, self.app_key, self.master_secret = app_id, app_key, master_secret
        self.tokens: set[str] = set()
        self._ids = itertools.count(1)
        self.server = FakeServer(self._route).start()

    @property
    def push_url(self) -> str:
        return f"{self.server.url}/v2/{self.app_id}"

    def expire_tokens(self) -> None:
        """Every token issued so far answers 10001 from now on."""
        self.tokens.clear()

    def _route(self, request: Request) -> Answer:
        prefix = f"/v2/{self.app_id}"
        if not request.path.startswith(prefix):
            return 404, {"code": 404, "msg": "not found"}
        path, body = request.path.removeprefix(prefix), request.json()
        if path == "/auth":
            sign = hashlib.sha256(f"{self.app_key}{body.get('timestamp')}{self.master_secret}".encode()).hexdigest()
            if body.get("appkey") != self.app_key or body.get("sign") != sign:
                return 200, {"code": 10002, "msg": "appkey or sign error"}
            token = f"gt-token-{next(self._ids)}"
            self.tokens.add(token)
            expire = str(int(body["timestamp"]) + 86_400_000)
            return 200, {"code": 0, "msg": "success", "data": {"expire_time": expire, "token": token}}
        if request.headers.get("token") not in self.tokens:
            return 200, {"code": 10001, "msg": "token expired"}
        if path == "/push/single/alias":
            if not 10 <= len(body.get("request_id", "")) <= 32 or len(body["audience"]["alias"]) != 1:
                return 200, {"code": 20001, "msg": "request_id or audience invalid"}
            return 200, {"code": 0, "msg": "", "data": {body["request_id"]: {"alias": "successed_online"}}}
        if path == "/push/list/message":
            return 200, {"code": 0, "msg": "", "data": {"taskid": f"RASL_{next(self._ids)}"}}
        if path == "/push/list/alias":
            if not body.get("taskid", "").startswith("RASL_"):
                return 200, {"code": 20001, "msg": "taskid invalid"}
            return 200, {"code": 0, "msg": "", "data": {}}
        return 404, {"code": 404, "msg": "not found"}


# --- the app server's push webhook --------------------------------------------------------------------------------


class FakeWebhook:
    """An app server receiving `push.enable: webhook` POSTs; answers 200 unless told to fail."""

    def __init__(self) -> None:
        self.server = FakeServer(lambda request: (200, {"errCode": 0})).start()

    @property
    def url(self) -> str:
        return f"{self.server.url}/push"

    def bodies(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.server.to("/push")]
