"""Who may call what: the expectation table of the authorization matrix, one line per REST route and ReqIdentifier.

tests/api/test_access_matrix.py checks every REST route against it (the app's route table must equal its keys),
tests/gateway/test_access_matrix.py every ReqIdentifier the dispatcher serves, and tests/test_security_doc.py that
the table in docs/security.md is `markdown_table()` (`scripts/security-table` rewrites it). Adding a route is one
line here: its path, its level and, when the matrix's body built from field names is not enough to reach the
permission check, a body. In bodies, "{me}" is the user the body speaks for, "{group}" the group of the case,
"{peer}" a member of that group (and a friend of the victim), "{other}" another member, "{owner}" its owner,
"{outsider}" a user in no relation to anyone, "{key}" a send_simple_msg key for "{me}". A body's "?" entry is the
query string.

Levels, and what the matrix asserts for each (besides: no token → 1001, expired → 1501, kicked → 1506, and the
imAdmin is never refused with 1002):
- none: answers without a token (the token headers are not even read);
- any: any valid token; another user gets no 1002;
- self: the body names the caller's own data; another user naming the victim gets 1002 or 1004, the victim not 1002;
- admin: imAdmin only; a user gets 1002 even for a body naming herself;
- member: members of the group; an outsider gets 1002 or 1004, a member not 1002;
- group-admin: the group's owner or its admins; a member without the role gets 1002, a group admin not;
- owner: the group's owner; a member and a group admin get 1002, the owner not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LEVELS", "REST", "WS", "Rule", "markdown_table"]

LEVELS = {
    "none": "no token needed",
    "any": "any signed-in user",
    "self": "the user herself, or an imAdmin",
    "admin": "an imAdmin only",
    "member": "a member of the group, or an imAdmin",
    "group-admin": "the group's owner or a group admin, or an imAdmin",
    "owner": "the group's owner, or an imAdmin",
}


@dataclass(frozen=True)
class Rule:
    level: str
    body: dict[str, Any] = field(default_factory=dict)  # merged over the body built from field names
    note: str = ""

    def __post_init__(self) -> None:
        assert self.level in LEVELS, self.level


R = Rule
_PAGE = {"pagination": {"pageNumber": 1, "showNumber": 10}}
_CONV = "si_{me}_{peer}"

REST: dict[str, Rule] = {
    # --- /auth
    "/auth/get_admin_token": R("none", note="needs the secret"),
    "/auth/parse_token": R("none", note="answers what the token it is given says"),
    "/auth/get_user_token": R("admin", {"platformID": 5}),
    "/auth/force_logout": R("admin", {"userID": "{outsider}", "platformID": 5}),
    # --- /user
    "/user/user_register": R("admin", {"users": [{"userID": "new_{me}", "nickname": "n"}]}),
    "/user/update_user_info": R("self", {"userInfo": {"userID": "{me}", "nickname": "n2"}}),
    "/user/update_user_info_ex": R("self", {"userInfo": {"userID": "{me}", "nickname": "n3"}}),
    "/user/set_global_msg_recv_opt": R("self"),
    "/user/get_users_info": R("any", note="public profiles: the SDKs show the sender of any message"),
    "/user/get_all_users_uid": R("admin", _PAGE),
    "/user/account_check": R("admin"),
    "/user/get_users": R("admin", _PAGE),
    "/user/get_users_online_status": R("admin"),
    "/user/get_users_online_token_detail": R("admin"),
    "/user/subscribe_users_status": R("self", {"genre": 1}),
    "/user/get_subscribe_users_status": R("self"),
    "/user/get_users_status": R("self", note="any user's status, as WS 2005; userID, if given, the caller"),
    "/user/process_user_command_add": R("self", {"type": 1, "uuid": "u-{me}", "value": "v"}),
    "/user/process_user_command_delete": R("self", {"type": 1, "uuid": "u-{me}"}),
    "/user/process_user_command_update": R("self", {"type": 1, "uuid": "u-{me}", "value": "v2"}),
    "/user/process_user_command_get": R("self", {"type": 1}),
    "/user/process_user_command_get_all": R("self"),
    "/user/add_notification_account": R("admin", {"userID": "na_{me}", "nickName": "n", "faceURL": "f"}),
    "/user/update_notification_account": R("admin", {"userID": "na_{me}", "nickName": "n"}),
    "/user/search_notification_account": R("admin", _PAGE),
    "/user/get_user_client_config": R("self"),
    "/user/set_user_client_config": R("admin", {"configs": {"k": "v"}}),
    "/user/del_user_client_config": R("admin", {"keys": ["k"]}),
    "/user/page_user_client_config": R("admin", _PAGE),
    # --- /friend
    "/friend/add_friend": R("self", {"toUserID": "{outsider}", "reqMsg": "hi"}),
    "/friend/add_friend_response": R("self", {"toUserID": "{me}", "fromUserID": "{outsider}", "handleResult": 1}),
    "/friend/delete_friend": R("self", {"ownerUserID": "{me}", "friendUserID": "{peer}"}),
    "/friend/get_friend_apply_list": R("self", _PAGE),
    "/friend/get_designated_friend_apply": R("self", {"fromUserID": "{outsider}", "toUserID": "{me}"}),
    "/friend/get_self_friend_apply_list": R("self", _PAGE),
    "/friend/get_friend_list": R("self", _PAGE),
    "/friend/get_designated_friends": R("self"),
    "/friend/set_friend_remark": R("self", {"ownerUserID": "{me}", "friendUserID": "{peer}", "remark": "r"}),
    "/friend/add_black": R("self", {"ownerUserID": "{me}", "blackUserID": "{outsider}"}),
    "/friend/get_black_list": R("self", _PAGE),
    "/friend/get_specified_blacks": R("self"),
    "/friend/remove_black": R("self", {"ownerUserID": "{me}", "blackUserID": "{outsider}"}),
    "/friend/import_friend": R("admin", {"friendUserIDs": ["{outsider}"]}),
    "/friend/is_friend": R("self", {"userID1": "{me}", "userID2": "{peer}"}),
    "/friend/get_friend_id": R("self"),
    "/friend/get_specified_friends_info": R("self"),
    "/friend/update_friends": R("self", {"friendUserIDs": ["{peer}"], "isPinned": True}),
    "/friend/get_incremental_friends": R("self"),
    "/friend/get_incremental_blacks": R("self"),
    "/friend/get_full_friend_user_ids": R("self"),
    "/friend/get_self_unhandled_apply_count": R("self"),
    # --- /group
    "/group/create_group": R(
        "self", {"ownerUserID": "{me}", "groupInfo": {"groupName": "x", "groupType": 2}, "memberUserIDs": []}
    ),
    "/group/set_group_info": R("group-admin", {"groupInfoForSet": {"groupID": "{group}", "groupName": "renamed"}}),
    "/group/set_group_info_ex": R("group-admin", {"groupName": "renamed-ex"}),
    "/group/join_group": R("any", {"joinSource": 3, "reqMessage": "let me in"}, note="asks to join: any user"),
    "/group/quit_group": R("member"),
    "/group/group_application_response": R("group-admin", {"fromUserID": "{outsider}", "handleResult": 1}),
    "/group/transfer_group": R("owner", {"oldOwnerUserID": "{owner}", "newOwnerUserID": "{peer}"}),
    "/group/get_recv_group_applicationList": R("self", _PAGE),
    "/group/get_user_req_group_applicationList": R("self", _PAGE),
    "/group/get_group_users_req_application_list": R("group-admin", {"userIDs": ["{outsider}"]}),
    "/group/get_specified_user_group_request_info": R("group-admin", {"userID": "{outsider}"}),
    "/group/get_groups_info": R("any", note="a group is shown before joining it"),
    "/group/kick_group": R("group-admin", {"kickedUserIDs": ["{other}"]}),
    "/group/get_group_members_info": R("member", {"userIDs": ["{peer}"]}),
    "/group/get_group_member_list": R("member", _PAGE),
    "/group/invite_user_to_group": R("member", {"invitedUserIDs": ["{outsider}"]}),
    "/group/get_joined_group_list": R("self", {"fromUserID": "{me}", **_PAGE}),
    "/group/dismiss_group": R("owner"),
    "/group/mute_group_member": R("group-admin", {"userID": "{other}", "mutedSeconds": 60}),
    "/group/cancel_mute_group_member": R("group-admin", {"userID": "{other}"}),
    "/group/mute_group": R("group-admin"),
    "/group/cancel_mute_group": R("group-admin"),
    "/group/set_group_member_info": R(
        "group-admin",
        {"members": [{"groupID": "{group}", "userID": "{other}", "nickname": "nn"}]},
        note="another member's info; a member may set her own nickname and face",
    ),
    "/group/get_group_abstract_info": R("member", {"groupIDs": ["{group}"]}),
    "/group/get_groups": R("admin", _PAGE),
    "/group/get_group_member_user_id": R("member"),
    "/group/get_incremental_join_groups": R("self"),
    "/group/get_incremental_group_members": R("member"),
    "/group/get_incremental_group_members_batch": R("self", {"reqList": [{"groupID": "{group}"}]}),
    "/group/get_full_group_member_user_ids": R("member"),
    "/group/get_full_join_group_ids": R("self"),
    "/group/get_group_application_unhandled_count": R("self"),
    # --- /msg
    "/msg/newest_seq": R("self"),
    "/msg/search_msg": R("admin", _PAGE),
    "/msg/send_msg": R("admin"),
    "/msg/send_business_notification": R("admin"),
    "/msg/send_simple_msg": R(
        "self", {"content": "hi", "?": {"key": "{key}"}}, note="a bot's answer; ?key= names the message it answers"
    ),
    "/msg/batch_send_msg": R("admin"),
    "/msg/pull_msg_by_seq": R("self"),
    "/msg/revoke_msg": R("self", {"conversationID": _CONV, "seq": 1}),
    "/msg/mark_msgs_as_read": R("self", {"conversationID": _CONV, "seqs": [1]}),
    "/msg/mark_conversation_as_read": R("self", {"conversationID": _CONV, "hasReadSeq": 1}),
    "/msg/get_conversations_has_read_and_max_seq": R("self"),
    "/msg/set_conversation_has_read_seq": R("self", {"conversationID": _CONV, "hasReadSeq": 1}),
    "/msg/clear_conversation_msg": R("self"),
    "/msg/user_clear_all_msg": R("self"),
    "/msg/delete_msgs": R("self", {"conversationID": _CONV, "seqs": [1]}),
    "/msg/delete_msg_phsical_by_seq": R("admin"),
    "/msg/delete_msg_physical": R("admin"),
    "/msg/check_msg_is_send_success": R("any", note="a status kept under the caller's own operationID"),
    "/msg/get_server_time": R("any", note="the server's clock"),
    # --- /conversation
    "/conversation/get_sorted_conversation_list": R("self"),
    "/conversation/get_all_conversations": R("self"),
    "/conversation/get_conversation": R("self"),
    "/conversation/get_conversations": R("self"),
    "/conversation/set_conversations": R(
        "self", {"conversation": {"conversationID": _CONV, "conversationType": 1, "userID": "{peer}", "isPinned": True}}
    ),
    "/conversation/get_conversation_offline_push_user_ids": R("admin"),
    "/conversation/get_full_conversation_ids": R("self"),
    "/conversation/get_incremental_conversations": R("self"),
    "/conversation/get_owner_conversation": R("self", _PAGE),
    "/conversation/get_not_notify_conversation_ids": R("self"),
    "/conversation/get_pinned_conversation_ids": R("self"),
    "/conversation/delete_conversations": R("self"),
    "/conversation/update_conversations_by_user": R("self"),
    # --- /jssdk
    "/jssdk/get_conversations": R("any", note="the caller's own conversations, whatever the body names"),
    "/jssdk/get_active_conversations": R("any", note="the caller's own conversations, whatever the body names"),
    # --- /object (the caller's own uploads)
    "/object/part_limit": R("any"),
    "/object/part_size": R("any", {"size": 1024}),
    "/object/initiate_multipart_upload": R("any", note="uploads are keyed by the caller"),
    "/object/auth_sign": R("any", note="the caller's own upload IDs"),
    "/object/complete_multipart_upload": R("any", note="the caller's own upload IDs"),
    "/object/access_url": R("any", note="names are unguessable; the URL is signed and expires"),
    "/object/initiate_form_data": R("any", note="uploads are keyed by the caller"),
    "/object/complete_form_data": R("any", note="the caller's own upload IDs"),
    "/object/{name}": R("none", note="GET: redirects to a signed URL (an image tag in a page sends no token)"),
    # --- /third
    "/third/prometheus": R("none", note="GET: redirects a browser to the configured Grafana"),
    "/third/fcm_update_token": R("self", {"account": "{me}", "platformID": 5, "fcmToken": "t", "expireTime": 60}),
    "/third/set_app_badge": R("self"),
    "/third/logs/upload": R("any", {"platform": 5, "fileURLs": [{"filename": "f", "URL": "u"}]}, note="own logs"),
    "/third/logs/delete": R("any", note="the caller's own logs (another's: 1004), any for an imAdmin"),
    "/third/logs/search": R("admin", _PAGE),
    # --- /prometheus_discovery (GET, open as OpenIM's: Prometheus cannot send a token; they list /metrics addresses)
    "/prometheus_discovery/api": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/user": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/group": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/msg": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/friend": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/conversation": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/third": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/auth": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/push": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/msg_gateway": R("none", note="GET: Prometheus HTTP-SD targets"),
    "/prometheus_discovery/msg_transfer": R("none", note="GET: Prometheus HTTP-SD targets"),
    # --- /config and /restart (OpenIM's config centre)
    "/config/get_config_list": R("admin"),
    "/config/get_config": R("admin", {"configName": "share"}),
    "/config/set_config": R("admin", {"configName": "log"}),
    "/config/reset_config": R("admin"),
    "/config/set_enable_config_manager": R("admin"),
    "/config/get_enable_config_manager": R("admin"),
    "/restart": R("admin", note="re-reads the config file in every process"),
    # --- /statistics
    "/statistics/user/register": R("admin", {"start": 1, "end": 2}),
    "/statistics/user/active": R("admin", {"start": 1, "end": 2}),
    "/statistics/group/create": R("admin", {"start": 1, "end": 2}),
    "/statistics/group/active": R("admin", {"start": 1, "end": 2}),
}

# The ReqIdentifiers the gateway's dispatcher serves: every request is the connection's own user's.
WS: dict[int, Rule] = {
    1001: R("self", note="GetNewestSeq"),
    1002: R("self", note="PullMsgByRange"),
    1003: R("self", note="SendMsg: the sender is the connection's user"),
    1004: R("self", note="SendSignalMsg: answered 1001 (not supported)"),
    1005: R("self", note="PullMsgBySeqList"),
    1006: R("self", note="GetConvMaxReadSeq"),
    1007: R("self", note="PullConvLastMessage"),
    2003: R("self", note="LogoutMsg: the connection's own push token"),
    2004: R("self", note="SetBackgroundStatus: the connection's own"),
    2005: R("any", note="SubUserOnlineStatus: any user's status, as /user/get_users_status"),
}


def markdown_table() -> str:
    """The table docs/security.md shows between its markers: every route and ReqIdentifier with its level."""
    lines = [
        "| route or ReqIdentifier | who may call | note |",
        "|---|---|---|",
    ]
    for path, rule in REST.items():
        method = "GET" if rule.level == "none" and not path.startswith("/auth/") else "POST"
        lines.append(f"| `{method} {path}` | {rule.level}: {LEVELS[rule.level]} | {rule.note} |")
    for identifier, rule in WS.items():
        lines.append(f"| WS {identifier} | {rule.level}: {LEVELS[rule.level]} | {rule.note} |")
    return "\n".join(lines) + "\n"
