"""Every Prometheus metric the hot paths update, defined here by name; the layers call the small functions below.

This module sits under every layer (the lowest layer of the import-linter contract, beside `openim.context`) so
that api, gateway, services and storage may all count without importing `openim.ops`, which they must not. It
imports nothing from openim. Values computed at scrape time (database pool, per-transaction totals, the writer's
queue, build info) are `openim.ops.metrics`'s; process CPU / RSS / open fds are prometheus_client's own collector.

| name | type | labels | updated by |
|---|---|---|---|
| openim_http_requests_total | counter | route, errCode | api/middleware.py, every REST request |
| openim_http_request_seconds | histogram | route | api/middleware.py |
| openim_http_refused_connections_total | counter | reason | api/http_guard.py: caps hit, head/body deadlines missed |
| openim_http_body_too_large_total | counter | | api/limits.py: bodies refused for their size |
| openim_rate_limited_total | counter | rule | infra/ratelimit.py: requests refused by a rate limit |
| openim_ws_requests_total | counter | reqIdentifier, errCode | gateway/dispatch.py, every WS request |
| openim_ws_request_seconds | histogram | reqIdentifier | gateway/dispatch.py |
| openim_gateway_connections | gauge | platform | gateway/hub.py (register / remove) |
| openim_gateway_online_users | gauge | | gateway/hub.py |
| openim_gateway_handshakes_total | counter | errCode | gateway/server.py (0 = accepted) |
| openim_msg_sent_total | counter | sessionType | services/msg/send.py, successful sends |
| openim_msg_send_seconds | histogram | | services/msg/send.py, every send (check → commit → answer) |
| openim_msg_pushed_total | counter | | gateway/push.py, 2001 frames queued to connections |
| openim_msg_pulled_total | counter | | services/msg/sync.py, messages returned by pulls |
| openim_msg_commit_batch_size | histogram | | storage/commit.py, messages per group-commit transaction |
| openim_msg_commit_seconds | histogram | | storage/commit.py, one batch transaction |
| openim_msg_commit_failures_total | counter | | storage/commit.py, batches rolled back |
| openim_event_loop_lag_seconds | histogram | | ops/metrics.py's lag probe (admin role) |
| openim_queue_jobs_total | counter | topic, result | jobs/worker.py: done, retried, dead (dead letters) |
| openim_queue_depth | gauge | topic | jobs/worker.py, after each job: the group's lag plus pending |
| openim_cron_runs_total | counter | task, result | jobs/scheduler.py: ok, failed, skipped (another process had it) |
| openim_cron_removed_total | counter | task | jobs/scheduler.py: rows a scheduled job removed or changed |
| openim_cron_seconds | histogram | task | jobs/scheduler.py, one run of a scheduled job |
| openim_cron_last_success_timestamp_seconds | gauge | task | jobs/scheduler.py, when a run last succeeded here |
| openim_webhook_calls_total | counter | hook, result | webhooks/: before hooks ok, refused, failed, continued; |
| | | | after hooks queued, lost (not queued), delivered, failed (retried), malformed |
| openim_webhook_seconds | histogram | hook | webhooks/: one HTTP call to the app server |

Label values are bounded: REST routes are templates (unknown paths count as "unmatched"), WS requests are the
known reqIdentifiers, hooks the keys of `webhooks/catalogue.py`, errCodes come from `protocol/errors.py`,
platforms from `PLATFORM_NAMES`. Each update costs well under a microsecond (`child()` caches the labelled
child, so the hot path skips prometheus_client's lock).
"""

from __future__ import annotations

from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

__all__ = [
    "EVENT_LOOP_LAG",
    "GATEWAY_CONNECTIONS",
    "GATEWAY_HANDSHAKES",
    "GATEWAY_ONLINE_USERS",
    "HTTP_BODY_TOO_LARGE",
    "HTTP_REFUSED_CONNECTIONS",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "JOB_LAST_SUCCESS",
    "JOB_REMOVED",
    "JOB_RUNS",
    "JOB_SECONDS",
    "LATENCY_BUCKETS",
    "MSG_COMMIT_BATCH_SIZE",
    "MSG_COMMIT_FAILURES",
    "MSG_COMMIT_IN_DOUBT",
    "MSG_COMMIT_SECONDS",
    "MSG_PULLED",
    "MSG_PUSHED",
    "MSG_SEND_SECONDS",
    "MSG_SENT",
    "QUEUE_DEPTH",
    "QUEUE_JOBS",
    "RATE_LIMITED",
    "WEBHOOK_CALLS",
    "WEBHOOK_SECONDS",
    "WS_REQUESTS",
    "WS_REQUEST_SECONDS",
    "child",
    "observe_http",
    "observe_ws",
]

# 1 ms .. 10 s: an IM request is a few ms; the alert rules fire on p95 > 1 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "openim_http_requests_total",
    "REST requests by route template and OpenIM errCode (0 = success)",
    ["route", "errCode"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "openim_http_request_seconds", "REST response time by route template", ["route"], buckets=LATENCY_BUCKETS
)
HTTP_REFUSED_CONNECTIONS = Counter(
    "openim_http_refused_connections_total",
    "REST connections refused (max_connections, max_connections_per_ip) or closed (header_timeout, body_timeout)",
    ["reason"],
)
RATE_LIMITED = Counter(
    "openim_rate_limited_total", "Requests refused by a rate limit (ratelimiter.enable), by rule", ["rule"]
)
HTTP_BODY_TOO_LARGE = Counter("openim_http_body_too_large_total", "REST request bodies refused for their size")
WS_REQUESTS = Counter(
    "openim_ws_requests_total", "WebSocket requests by reqIdentifier and errCode", ["reqIdentifier", "errCode"]
)
WS_REQUEST_SECONDS = Histogram(
    "openim_ws_request_seconds",
    "WebSocket request handling time by reqIdentifier",
    ["reqIdentifier"],
    buckets=LATENCY_BUCKETS,
)
GATEWAY_CONNECTIONS = Gauge("openim_gateway_connections", "Live WebSocket connections by platform", ["platform"])
GATEWAY_ONLINE_USERS = Gauge("openim_gateway_online_users", "Users with at least one connection on this node")
GATEWAY_HANDSHAKES = Counter(
    "openim_gateway_handshakes_total", "WebSocket handshakes by errCode (0 = accepted)", ["errCode"]
)
MSG_SENT = Counter("openim_msg_sent_total", "Messages sent successfully, by sessionType", ["sessionType"])
MSG_SEND_SECONDS = Histogram(
    "openim_msg_send_seconds",
    "Send latency: checks, group commit and answer (WS 1003 and REST)",
    buckets=LATENCY_BUCKETS,
)
MSG_PUSHED = Counter("openim_msg_pushed_total", "Push frames (2001) queued to live connections")
MSG_PULLED = Counter("openim_msg_pulled_total", "Messages returned by pulls (1002, 1005, REST pull_msg_by_seq)")
MSG_COMMIT_BATCH_SIZE = Histogram(
    "openim_msg_commit_batch_size",
    "Messages per group-commit transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
MSG_COMMIT_SECONDS = Histogram(
    "openim_msg_commit_seconds", "Duration of one group-commit transaction", buckets=LATENCY_BUCKETS
)
MSG_COMMIT_FAILURES = Counter(
    "openim_msg_commit_failures_total", "Group-commit batches that failed (their callers got the error)"
)
MSG_COMMIT_IN_DOUBT = Counter(
    "openim_msg_commit_in_doubt_stored_total",
    "Messages of failed group-commit batches found stored afterwards (the commit's answer was lost), then pushed",
)
EVENT_LOOP_LAG = Histogram(
    "openim_event_loop_lag_seconds",
    "How late the event loop ran a timer: the cost of blocking code",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
QUEUE_JOBS = Counter("openim_queue_jobs_total", "Jobs handled by the msgtransfer role, by result", ["topic", "result"])
QUEUE_DEPTH = Gauge("openim_queue_depth", "Jobs of a topic not finished yet by the msgtransfer group", ["topic"])
JOB_RUNS = Counter("openim_cron_runs_total", "Runs of the scheduled jobs (cronTask), by result", ["task", "result"])
JOB_REMOVED = Counter("openim_cron_removed_total", "Rows the scheduled jobs removed or changed", ["task"])
JOB_SECONDS = Histogram(
    "openim_cron_seconds", "Duration of one run of a scheduled job", ["task"], buckets=(0.01, 0.1, 1, 10, 60, 600, 3600)
)
JOB_LAST_SUCCESS = Gauge(
    "openim_cron_last_success_timestamp_seconds", "When a scheduled job last succeeded in this process", ["task"]
)
WEBHOOK_CALLS = Counter(
    "openim_webhook_calls_total", "Webhook calls to the app server by hook and result", ["hook", "result"]
)
WEBHOOK_SECONDS = Histogram(
    "openim_webhook_seconds", "Duration of one webhook call to the app server", ["hook"], buckets=LATENCY_BUCKETS
)

M = TypeVar("M", bound=MetricWrapperBase)
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: M, *labels: str) -> M:
    """`metric.labels(*labels)`, cached: the labelled child without prometheus_client's lookup lock."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def observe_http(route: str, err_code: int, seconds: float) -> None:
    """Count one REST request and its response time."""
    child(HTTP_REQUESTS, route, str(err_code)).inc()
    child(HTTP_REQUEST_SECONDS, route).observe(seconds)


def observe_ws(req_identifier: int, err_code: int, seconds: float) -> None:
    """Count one WebSocket request and its handling time."""
    ident = str(req_identifier)
    child(WS_REQUESTS, ident, str(err_code)).inc()
    child(WS_REQUEST_SECONDS, ident).observe(seconds)
