"""The domain: plain async classes; no FastAPI, no websockets, no SQL text."""

from __future__ import annotations

from dataclasses import dataclass

from openim.services.auth import AuthService
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

__all__ = ["Services"]


@dataclass(frozen=True)
class Services:
    """Every service of a process, built once by runtime.py and handed to the transports."""

    auth: AuthService
    user: UserService
    friend: FriendService
    group: GroupService
    msg: MsgService
    conversation: ConversationService
    object: ObjectService
    third: ThirdService
    statistics: StatisticsService
    prometheus_discovery: PrometheusDiscoveryService
    config_manager: ConfigManagerService
