"""FastAPI dependencies: the authenticated caller and one alias per service.

Every dependency is `async def` although none awaits: FastAPI runs a plain `def` dependency in a thread pool,
a thread hop per dependency per request (a fifth of a get_users_info's samples in the profile).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from openim.protocol.errors import ArgsError
from openim.services import Services
from openim.services.auth import AuthService, Caller
from openim.services.config_manager import ConfigManagerService
from openim.services.conversation import ConversationService
from openim.services.friend import FriendService
from openim.services.group import GroupService
from openim.services.msg import MsgService
from openim.services.object import ObjectService
from openim.services.prometheus_discovery import PrometheusDiscoveryService
from openim.services.statistics import StatisticsService
from openim.services.third import ThirdService
from openim.services.user import UserService

__all__ = [
    "AdminCallerDep",
    "ApiBase",
    "AuthDep",
    "CallerDep",
    "ConfigManagerDep",
    "ConversationDep",
    "FriendDep",
    "GroupDep",
    "MsgDep",
    "ObjectDep",
    "OperationID",
    "PrometheusDiscoveryDep",
    "StatisticsDep",
    "ThirdDep",
    "UserDep",
]


def _services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _caller_of(request: Request) -> Caller:
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:  # only whitelisted routes run without one, and they do not ask for it
        raise ArgsError("header must have token")
    return caller


async def _admin_caller(request: Request) -> Caller:
    """The caller of a route OpenIM's API layer reserves to imAdmins (e.g. /msg/send_msg); else 1002."""
    caller = _caller_of(request)
    caller.require_admin()
    return caller


async def _operation_id(request: Request) -> str:
    return str(getattr(request.state, "operation_id", ""))


async def _caller(request: Request) -> Caller:
    return _caller_of(request)


CallerDep = Annotated[Caller, Depends(_caller)]
AdminCallerDep = Annotated[Caller, Depends(_admin_caller)]
OperationID = Annotated[str, Depends(_operation_id)]


async def _auth(request: Request) -> AuthService:
    return _services_of(request).auth


async def _user(request: Request) -> UserService:
    return _services_of(request).user


AuthDep = Annotated[AuthService, Depends(_auth)]
UserDep = Annotated[UserService, Depends(_user)]


async def _friend(request: Request) -> FriendService:
    return _services_of(request).friend


async def _group(request: Request) -> GroupService:
    return _services_of(request).group


FriendDep = Annotated[FriendService, Depends(_friend)]
GroupDep = Annotated[GroupService, Depends(_group)]


async def _msg(request: Request) -> MsgService:
    return _services_of(request).msg


async def _conversation(request: Request) -> ConversationService:
    return _services_of(request).conversation


MsgDep = Annotated[MsgService, Depends(_msg)]
ConversationDep = Annotated[ConversationService, Depends(_conversation)]


async def _object(request: Request) -> ObjectService:
    return _services_of(request).object


async def _api_base(request: Request) -> str:
    """Where the client reaches this API, without a trailing slash: OpenIM's `X-Request-Api` header when a proxy
    sets it, else the request's scheme (X-Forwarded-Proto behind a proxy) and Host."""
    forwarded = request.headers.get("x-request-api", "")
    if forwarded:
        return forwarded.rstrip("/")
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return f"{scheme}://{request.headers.get('host') or request.url.netloc}"


ObjectDep = Annotated[ObjectService, Depends(_object)]
ApiBase = Annotated[str, Depends(_api_base)]


async def _third(request: Request) -> ThirdService:
    return _services_of(request).third


async def _statistics(request: Request) -> StatisticsService:
    return _services_of(request).statistics


ThirdDep = Annotated[ThirdService, Depends(_third)]
StatisticsDep = Annotated[StatisticsService, Depends(_statistics)]


async def _prometheus_discovery(request: Request) -> PrometheusDiscoveryService:
    return _services_of(request).prometheus_discovery


PrometheusDiscoveryDep = Annotated[PrometheusDiscoveryService, Depends(_prometheus_discovery)]


async def _config_manager(request: Request) -> ConfigManagerService:
    return _services_of(request).config_manager


ConfigManagerDep = Annotated[ConfigManagerService, Depends(_config_manager)]
