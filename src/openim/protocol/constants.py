"""OpenIM's numeric vocabulary: platforms, token states, login policies, manager levels.

Values are OpenIM's (protocol `constant/constant.go`, `constant/platform_id_to_name.go`). Later issues add
content types, session types and the gateway's reqIdentifiers here.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ADMIN_PLATFORM_ID",
    "PLATFORM_CLASS",
    "PLATFORM_NAMES",
    "AppManagerLevel",
    "MultiLoginPolicy",
    "TokenState",
    "platform_name",
]

IOS, ANDROID, WINDOWS, OSX, WEB, MINI_WEB, LINUX, ANDROID_PAD, IPAD, ADMIN, HARMONY_OS = range(1, 12)
ADMIN_PLATFORM_ID = ADMIN

PLATFORM_NAMES: dict[int, str] = {
    IOS: "IOS",
    ANDROID: "Android",
    WINDOWS: "Windows",
    OSX: "OSX",
    WEB: "Web",
    MINI_WEB: "MiniWeb",
    LINUX: "Linux",
    ANDROID_PAD: "APad",
    IPAD: "IPad",
    ADMIN: "Admin",
    HARMONY_OS: "HarmonyOS",
}

# The multi-login "class" of each platform: policy 4 kicks within a class.
PLATFORM_CLASS: dict[int, str] = {
    IOS: "Mobile",
    ANDROID: "Mobile",
    WINDOWS: "PC",
    OSX: "PC",
    LINUX: "PC",
    WEB: "Web",
    MINI_WEB: "MiniWeb",
    ANDROID_PAD: "Pad",
    IPAD: "Pad",
    ADMIN: "Admin",
    HARMONY_OS: "HarmonyOS",
}


def platform_name(platform_id: int) -> str:
    """OpenIM's platform name (the token-state key part); unknown IDs get a stable placeholder."""
    return PLATFORM_NAMES.get(platform_id, f"Unknown{platform_id}")


class TokenState(IntEnum):
    NORMAL = 0
    INVALID = 1  # defined by OpenIM, never written
    KICKED = 2
    EXPIRED = 3  # defined by OpenIM, never written


class MultiLoginPolicy(IntEnum):
    DEFAULT_NOT_KICK = 0  # OpenIM spells it DefalutNotKick
    ALL_LOGIN_BUT_SAME_TERM_KICK = 1
    ALL_LOGIN_BUT_SAME_CLASS_KICK = 4
    PC_AND_OTHER = 5


class AppManagerLevel(IntEnum):
    IM_ORDINARY_USER = 0
    APP_ORDINARY_USER = 1
    APP_ADMIN = 2
    APP_NOTIFICATION_ADMIN = 3
    APP_ROBOT_ADMIN = 4
