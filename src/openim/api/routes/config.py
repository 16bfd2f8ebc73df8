"""/config/* and /restart: OpenIM's admin config centre (internal/api/config_manager.go), admin only.

What each route does here, and how it differs from OpenIM (no etcd, no process restarts: keys that may change
at run time apply in place), is services/config_manager.py's docstring and docs/operations.md ("Configuration at
run time").
"""

from __future__ import annotations

from fastapi import APIRouter

from openim.api.deps import AdminCallerDep, ConfigManagerDep, OperationID
from openim.api.json_body import JsonBodyRoute
from openim.api.models.config import (
    GetConfigListResp,
    GetConfigReq,
    GetEnableConfigManagerResp,
    RestartResp,
    SetConfigReq,
    SetEnableConfigManagerReq,
)

router = APIRouter(prefix="/config", tags=["config"], route_class=JsonBodyRoute)
restart_router = APIRouter(tags=["config"], route_class=JsonBodyRoute)


@router.post("/get_config_list")
async def get_config_list(caller: AdminCallerDep, config: ConfigManagerDep) -> GetConfigListResp:
    """The environment (source, docker, kubernetes), the version and the config names (sections of config.yaml)."""
    found = await config.config_list(caller)
    return GetConfigListResp(environment=found.environment, version=found.version, configNames=found.config_names)


@router.post("/get_config")
async def get_config(body: GetConfigReq, caller: AdminCallerDep, config: ConfigManagerDep) -> str:
    """One section as this process runs it, as a JSON string (as OpenIM), secrets masked."""
    return await config.get_config(caller, body.configName)


@router.post("/set_config")
async def set_config(body: SetConfigReq, caller: AdminCallerDep, op: OperationID, config: ConfigManagerDep) -> None:
    """Change keys of one section that may change at run time; applied in every process. Others: 1001."""
    await config.set_config(caller, body.configName, body.data, operation_id=op)


@router.post("/reset_config")
async def reset_config(caller: AdminCallerDep, op: OperationID, config: ConfigManagerDep) -> None:
    """Drop the stored changes: every process runs on its config file again."""
    await config.reset_config(caller, operation_id=op)


@router.post("/set_enable_config_manager")
async def set_enable_config_manager(
    body: SetEnableConfigManagerReq, caller: AdminCallerDep, op: OperationID, config: ConfigManagerDep
) -> None:
    """Turn the config manager on or off (a change of state drops the stored changes)."""
    await config.set_enabled(caller, body.enable, operation_id=op)


@router.post("/get_enable_config_manager")
async def get_enable_config_manager(caller: AdminCallerDep, config: ConfigManagerDep) -> GetEnableConfigManagerResp:
    return GetEnableConfigManagerResp(enable=await config.enabled(caller))


@restart_router.post("/restart")
async def restart(caller: AdminCallerDep, op: OperationID, config: ConfigManagerDep) -> RestartResp:
    """Every process re-reads its config file and applies what may change at run time, keeping its connections."""
    report = await config.restart(caller, operation_id=op)
    return RestartResp(reloaded=report.applied or None, restartRequired=report.restart_required or None)
