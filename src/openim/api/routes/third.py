"""/third/*: offline-push token, app badge, client log records, and the Grafana link (OpenIM's
internal/api/third.go, internal/rpc/third/{third,log}.go; who may call what: docs/protocol/rest.md §4).

The /object routes of OpenIM's third service are their own module. `GET /third/prometheus` is open like every
OpenIM GET route (no operationID, no token): it only redirects a browser to the configured Grafana.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from openim.api.deps import CallerDep, ThirdDep
from openim.api.json_body import JsonBodyRoute
from openim.api.models.base import page_of
from openim.api.models.third import (
    DeleteLogsReq,
    FcmUpdateTokenReq,
    LogInfo,
    SearchLogsReq,
    SearchLogsResp,
    SetAppBadgeReq,
    UploadLogsReq,
)
from openim.api.openapi import plain_text, redirect

router = APIRouter(prefix="/third", tags=["third"], route_class=JsonBodyRoute)

GRAFANA_UNSET = (
    "no Grafana configured: set prometheus.grafanaURL in config/config.yaml "
    "(or OPENIM_PROMETHEUS_GRAFANAURL) to the address browsers reach Grafana at"
)


@router.get(
    "/prometheus",
    response_class=Response,
    status_code=302,
    responses={302: redirect("to prometheus.grafanaURL"), 404: plain_text("no Grafana configured")},
)
async def prometheus(third: ThirdDep) -> Response:
    """302 to `prometheus.grafanaURL`; 404 with a plain-text hint when it is unset."""
    if not third.grafana_url:
        return PlainTextResponse(GRAFANA_UNSET, status_code=404)
    return RedirectResponse(third.grafana_url, status_code=302)


@router.post("/fcm_update_token")
async def fcm_update_token(body: FcmUpdateTokenReq, caller: CallerDep, third: ThirdDep) -> None:
    """Keep the device's push token for `expireTime` seconds (0 = until replaced or logout); self or admin."""
    await third.update_fcm_token(caller, body.account, body.platformID, body.fcmToken, expire_time_s=body.expireTime)


@router.post("/set_app_badge")
async def set_app_badge(body: SetAppBadgeReq, caller: CallerDep, third: ThirdDep) -> None:
    """Record the unread total the app shows on its icon; self or admin."""
    await third.set_app_badge(caller, body.userID, body.appUnreadCount)


@router.post("/logs/upload")
async def upload_logs(body: UploadLogsReq, caller: CallerDep, third: ThirdDep) -> None:
    """Record the caller's uploaded log files (one record per file URL)."""
    files = [(f.filename, f.URL) for f in body.fileURLs or []]
    await third.upload_logs(
        caller, body.platform, files, app_framework=body.appFramework, version=body.version, ex=body.ex
    )


@router.post("/logs/delete")
async def delete_logs(body: DeleteLogsReq, caller: CallerDep, third: ThirdDep) -> None:
    """Delete log records: one's own, or any for an admin; 1004 (and nothing deleted) if one is not found."""
    await third.delete_logs(caller, body.logIDs or [])


@router.post("/logs/search")
async def search_logs(body: SearchLogsReq, caller: CallerDep, third: ThirdDep) -> SearchLogsResp:
    """Admin: a page of log records in [startTime, endTime] whose userID contains `keyword`, newest first."""
    total, logs = await third.search_logs(caller, body.keyword, body.startTime, body.endTime, page_of(body.pagination))
    return SearchLogsResp(logsInfos=[LogInfo.of(v) for v in logs], total=total)
