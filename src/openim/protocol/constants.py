"""OpenIM's numeric vocabulary: platforms, token states, login policies, manager levels, WS reqIdentifiers,
session and content types, message flags, option keys, group roles and states.

Values are OpenIM's (protocol `constant/constant.go`, `constant/rtc.go`, `constant/platform_id_to_name.go`;
server `internal/msggateway/constant.go`), described in docs/protocol/gateway.md §5 and docs/protocol/messages.md.
Member names are OpenIM's in UPPER_SNAKE (`FriendApplicationApprovedNotification` →
`FRIEND_APPLICATION_APPROVED_NOTIFICATION`).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ADMIN_PLATFORM_ID",
    "AT_ALL_TAG",
    "OPTION_KEYS",
    "OPT_CONVERSATION_UPDATE",
    "OPT_HISTORY",
    "OPT_IS_NOT_NOTIFICATION",
    "OPT_IS_SEND_MSG",
    "OPT_NOT_PRIVATE",
    "OPT_OFFLINE_PUSH",
    "OPT_PERSISTENT",
    "OPT_REACTION_FROM_CACHE",
    "OPT_SENDER_CONVERSATION_UPDATE",
    "OPT_SENDER_NOTIFICATION_PUSH",
    "OPT_SENDER_SYNC",
    "OPT_UNREAD_COUNT",
    "PLATFORM_CLASS",
    "PLATFORM_NAMES",
    "AppManagerLevel",
    "ContentType",
    "GroupAtType",
    "GroupRole",
    "GroupStatus",
    "GroupType",
    "MsgFrom",
    "MsgStatus",
    "MultiLoginPolicy",
    "PullOrder",
    "RecvMsgOpt",
    "ReqIdentifier",
    "SendMsgStatus",
    "SessionType",
    "TokenState",
    "is_notification",
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


class ReqIdentifier(IntEnum):
    """The `ReqIdentifier` of a WS frame (docs/protocol/gateway.md §5), named as the SDKs name them.

    OpenIM's server swaps the names of 1002 and 1005; the numbers are what count.
    """

    GET_NEWEST_SEQ = 1001
    PULL_MSG_BY_RANGE = 1002
    SEND_MSG = 1003
    SEND_SIGNAL_MSG = 1004
    PULL_MSG_BY_SEQ_LIST = 1005
    GET_CONV_MAX_READ_SEQ = 1006
    PULL_CONV_LAST_MESSAGE = 1007
    PUSH_MSG = 2001
    KICK_ONLINE_MSG = 2002
    LOGOUT_MSG = 2003
    SET_BACKGROUND_STATUS = 2004
    SUB_USER_ONLINE_STATUS = 2005
    WS_DATA_ERROR = 3001  # defined by OpenIM, never sent


class SessionType(IntEnum):
    SINGLE_CHAT = 1
    WRITE_GROUP_CHAT = 2  # legacy "normal group"; SendMsg rejects it
    READ_GROUP_CHAT = 3  # every current group
    NOTIFICATION_CHAT = 4  # from notification accounts


class ContentType(IntEnum):
    """`MsgData.contentType`: user messages 101-203 (msgFrom 100), notifications 1000-5000 (msgFrom 200)."""

    CONTENT_TYPE_BEGIN = 100
    TEXT = 101
    PICTURE = 102
    VOICE = 103  # the SDKs call it Sound
    VIDEO = 104
    FILE = 105
    AT_TEXT = 106
    MERGER = 107
    CARD = 108
    LOCATION = 109
    CUSTOM = 110
    REVOKE = 111
    TYPING = 113
    QUOTE = 114
    FACE = 115  # SDK-defined
    ADVANCED_TEXT = 117
    MARKDOWN_TEXT = 118
    CUSTOM_NOT_TRIGGER_CONVERSATION = 119
    CUSTOM_ONLINE_ONLY = 120
    REACTION_MESSAGE_MODIFIER = 121
    REACTION_MESSAGE_DELETER = 122
    COMMON = 200
    GROUP_MSG = 201
    SIGNAL_MSG = 202
    CUSTOM_NOTIFICATION = 203

    NOTIFICATION_BEGIN = 1000

    FRIEND_APPLICATION_APPROVED_NOTIFICATION = 1201
    FRIEND_APPLICATION_REJECTED_NOTIFICATION = 1202
    FRIEND_APPLICATION_NOTIFICATION = 1203
    FRIEND_ADDED_NOTIFICATION = 1204
    FRIEND_DELETED_NOTIFICATION = 1205
    FRIEND_REMARK_SET_NOTIFICATION = 1206
    BLACK_ADDED_NOTIFICATION = 1207
    BLACK_DELETED_NOTIFICATION = 1208
    FRIEND_INFO_UPDATED_NOTIFICATION = 1209
    FRIENDS_INFO_UPDATE_NOTIFICATION = 1210

    CONVERSATION_CHANGE_NOTIFICATION = 1300

    USER_NOTIFICATION_BEGIN = 1301
    USER_INFO_UPDATED_NOTIFICATION = 1303
    USER_STATUS_CHANGE_NOTIFICATION = 1304
    USER_COMMAND_ADD_NOTIFICATION = 1305
    USER_COMMAND_DELETE_NOTIFICATION = 1306
    USER_COMMAND_UPDATE_NOTIFICATION = 1307
    USER_SUBSCRIBE_ONLINE_STATUS_NOTIFICATION = 1308
    USER_NOTIFICATION_END = 1399

    OA_NOTIFICATION = 1400

    GROUP_NOTIFICATION_BEGIN = 1500
    GROUP_CREATED_NOTIFICATION = 1501
    GROUP_INFO_SET_NOTIFICATION = 1502
    JOIN_GROUP_APPLICATION_NOTIFICATION = 1503
    MEMBER_QUIT_NOTIFICATION = 1504
    GROUP_APPLICATION_ACCEPTED_NOTIFICATION = 1505
    GROUP_APPLICATION_REJECTED_NOTIFICATION = 1506
    GROUP_OWNER_TRANSFERRED_NOTIFICATION = 1507
    MEMBER_KICKED_NOTIFICATION = 1508
    MEMBER_INVITED_NOTIFICATION = 1509
    MEMBER_ENTER_NOTIFICATION = 1510
    GROUP_DISMISSED_NOTIFICATION = 1511
    GROUP_MEMBER_MUTED_NOTIFICATION = 1512
    GROUP_MEMBER_CANCEL_MUTED_NOTIFICATION = 1513
    GROUP_MUTED_NOTIFICATION = 1514
    GROUP_CANCEL_MUTED_NOTIFICATION = 1515
    GROUP_MEMBER_INFO_SET_NOTIFICATION = 1516
    GROUP_MEMBER_SET_TO_ADMIN_NOTIFICATION = 1517
    GROUP_MEMBER_SET_TO_ORDINARY_USER_NOTIFICATION = 1518
    GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION = 1519
    GROUP_INFO_SET_NAME_NOTIFICATION = 1520

    SIGNALING_NOTIFICATION_BEGIN = 1600
    SIGNALING_NOTIFICATION = 1601
    ROOM_PARTICIPANTS_CONNECTED_NOTIFICATION = 1602
    ROOM_PARTICIPANTS_DISCONNECTED_NOTIFICATION = 1603
    STREAM_CHANGED_NOTIFICATION = 1604
    CUSTOM_SIGNAL_NOTIFICATION = 1605
    SIGNALING_NOTIFICATION_END = 1649

    SUPER_GROUP_NOTIFICATION_BEGIN = 1650
    SUPER_GROUP_UPDATE_NOTIFICATION = 1651
    MSG_DELETE_NOTIFICATION = 1652
    SUPER_GROUP_NOTIFICATION_END = 1699

    CONVERSATION_PRIVATE_CHAT_NOTIFICATION = 1701
    CONVERSATION_UNREAD_NOTIFICATION = 1702
    CLEAR_CONVERSATION_NOTIFICATION = 1703
    CONVERSATION_DELETE_NOTIFICATION = 1704

    BUSINESS_NOTIFICATION_BEGIN = 2000
    BUSINESS_NOTIFICATION = 2001
    BUSINESS_NOTIFICATION_END = 2099

    MSG_REVOKE_NOTIFICATION = 2101
    DELETE_MSGS_NOTIFICATION = 2102

    HAS_READ_RECEIPT = 2200

    NOTIFICATION_END = 5000


def is_notification(content_type: int) -> bool:
    """True for notification content types ([1000, 5000]): SendMsg skips the sender permission checks for them."""
    return ContentType.NOTIFICATION_BEGIN <= content_type <= ContentType.NOTIFICATION_END


class MsgFrom(IntEnum):
    USER = 100  # UserMsgType
    SYSTEM = 200  # SysMsgType


class MsgStatus(IntEnum):
    SENDING = 1
    SEND_SUCCESS = 2
    SEND_FAILED = 3
    HAS_DELETED = 4
    FILTERED = 5


class SendMsgStatus(IntEnum):
    """`/msg/check_msg_is_send_success` status, stored under the send's operationID."""

    NOT_EXIST = 0
    SENDING = 1
    SUCCESS = 2
    FAILED = 3


class PullOrder(IntEnum):
    ASC = 0
    DESC = 1


class RecvMsgOpt(IntEnum):
    RECEIVE = 0
    NOT_RECEIVE = 1
    RECEIVE_NOT_NOTIFY = 2


class GroupRole(IntEnum):
    OWNER = 100
    ADMIN = 60
    ORDINARY = 20


class GroupStatus(IntEnum):
    OK = 0
    BAN_CHAT = 1
    DISMISSED = 2
    MUTED = 3


class GroupType(IntEnum):
    NORMAL = 0
    SUPER = 1
    WORKING = 2  # the only type OpenIM creates; the Go SDK needs it


class GroupAtType(IntEnum):
    AT_NORMAL = 0
    AT_ME = 1
    AT_ALL = 2
    AT_ALL_AT_ME = 3
    GROUP_NOTIFICATION = 4


AT_ALL_TAG = "AtAllTag"  # in MsgData.atUserIDList: @everyone

# `MsgData.options` keys (docs/protocol/messages.md §2). An absent key (or no map at all) means true: see ids.option().
OPT_HISTORY = "history"
OPT_PERSISTENT = "persistent"
OPT_OFFLINE_PUSH = "offlinePush"
OPT_UNREAD_COUNT = "unreadCount"
OPT_CONVERSATION_UPDATE = "conversationUpdate"
OPT_SENDER_SYNC = "senderSync"
OPT_NOT_PRIVATE = "notPrivate"
OPT_SENDER_CONVERSATION_UPDATE = "senderConversationUpdate"
OPT_SENDER_NOTIFICATION_PUSH = "senderNotificationPush"
OPT_REACTION_FROM_CACHE = "reactionFromCache"
OPT_IS_NOT_NOTIFICATION = "isNotNotification"
OPT_IS_SEND_MSG = "isSendMsg"

OPTION_KEYS: frozenset[str] = frozenset(
    {
        OPT_HISTORY,
        OPT_PERSISTENT,
        OPT_OFFLINE_PUSH,
        OPT_UNREAD_COUNT,
        OPT_CONVERSATION_UPDATE,
        OPT_SENDER_SYNC,
        OPT_NOT_PRIVATE,
        OPT_SENDER_CONVERSATION_UPDATE,
        OPT_SENDER_NOTIFICATION_PUSH,
        OPT_REACTION_FROM_CACHE,
        OPT_IS_NOT_NOTIFICATION,
        OPT_IS_SEND_MSG,
    }
)
