"""Every hook of OpenIM's `config/webhooks.yml`: its config key, the callbackCommand it posts, and its kind.

The key is the name under `webhooks:` in config/config.yaml (OpenIM's spelling); the command is the last path
segment of the URL and the body's `callbackCommand` (OpenIM's `pkg/callbackstruct/constant.go`). A few commands
do not follow their key (`afterRevokeMsg` posts `callbackBeforeAfterMsgCommand`, sic). `afterGroupMsgRevoke` is in
OpenIM's file but no OpenIM code calls it: openim-py fires it for revokes in groups, with a command of its own
spelling (`callbackAfterGroupMsgRevokeCommand`).

`MSG_HOOKS` are the message hooks, which take the content-type filters (`deniedTypes`, `allowedTypes`);
`ATTENTION_HOOKS` also take `attentionIds`. A hook whose key starts with `before` is synchronous (it may block
or modify the operation); `after` hooks are queued.
"""

from __future__ import annotations

import re

__all__ = ["ATTENTION_HOOKS", "COMMANDS", "MSG_HOOKS", "attribute_name", "is_before"]

COMMANDS: dict[str, str] = {
    # messages (services/msg)
    "beforeSendSingleMsg": "callbackBeforeSendSingleMsgCommand",
    "afterSendSingleMsg": "callbackAfterSendSingleMsgCommand",
    "beforeSendGroupMsg": "callbackBeforeSendGroupMsgCommand",
    "afterSendGroupMsg": "callbackAfterSendGroupMsgCommand",
    "beforeMsgModify": "callbackBeforeMsgModifyCommand",
    "afterMsgSaveDB": "callbackAfterMsgSaveDBCommand",
    "afterGroupMsgRead": "callbackAfterGroupMsgReadCommand",
    "afterSingleMsgRead": "callbackAfterSingleMsgReadCommand",
    "afterRevokeMsg": "callbackBeforeAfterMsgCommand",
    "afterGroupMsgRevoke": "callbackAfterGroupMsgRevokeCommand",
    # users (services/user)
    "beforeUserRegister": "callbackBeforeUserRegisterCommand",
    "afterUserRegister": "callbackAfterUserRegisterCommand",
    "beforeUpdateUserInfo": "callbackBeforeUpdateUserInfoCommand",
    "afterUpdateUserInfo": "callbackAfterUpdateUserInfoCommand",
    "beforeUpdateUserInfoEx": "callbackBeforeUpdateUserInfoExCommand",
    "afterUpdateUserInfoEx": "callbackAfterUpdateUserInfoExCommand",
    # connections (gateway)
    "afterUserOnline": "callbackAfterUserOnlineCommand",
    "afterUserOffline": "callbackAfterUserOfflineCommand",
    "afterUserKickOff": "callbackAfterUserKickOffCommand",
    # pushes
    "beforeOfflinePush": "callbackBeforeOfflinePushCommand",
    "beforeOnlinePush": "callbackBeforeOnlinePushCommand",
    "beforeGroupOnlinePush": "callbackBeforeGroupOnlinePushCommand",
    # friends (services/friend)
    "beforeAddFriend": "callbackBeforeAddFriendCommand",
    "afterAddFriend": "callbackAfterAddFriendCommand",
    "beforeAddFriendAgree": "callbackBeforeAddFriendAgreeCommand",
    "afterAddFriendAgree": "callbackAfterAddFriendAgreeCommand",
    "afterDeleteFriend": "callbackAfterDeleteFriendCommand",
    "beforeImportFriends": "callbackBeforeImportFriendsCommand",
    "afterImportFriends": "callbackAfterImportFriendsCommand",
    "beforeSetFriendRemark": "callbackBeforeSetFriendRemarkCommand",
    "afterSetFriendRemark": "callbackAfterSetFriendRemarkCommand",
    "beforeAddBlack": "callbackBeforeAddBlackCommand",
    "afterRemoveBlack": "callbackAfterRemoveBlackCommand",
    # groups
    "beforeCreateGroup": "callbackBeforeCreateGroupCommand",
    "afterCreateGroup": "callbackAfterCreateGroupCommand",
    "beforeMemberJoinGroup": "callbackBeforeMembersJoinGroupCommand",
    "beforeSetGroupMemberInfo": "callbackBeforeSetGroupMemberInfoCommand",
    "afterSetGroupMemberInfo": "callbackAfterSetGroupMemberInfoCommand",
    "afterQuitGroup": "callbackAfterQuitGroupCommand",
    "afterKickGroupMember": "callbackAfterKickGroupCommand",
    "afterDismissGroup": "callbackAfterDisMissGroupCommand",
    "beforeApplyJoinGroup": "callbackBeforeJoinGroupCommand",
    "afterJoinGroup": "callbackAfterJoinGroupCommand",
    "beforeInviteUserToGroup": "callbackBeforeInviteJoinGroupCommand",
    "afterTransferGroupOwner": "callbackAfterTransferGroupOwnerCommand",
    "beforeSetGroupInfo": "callbackBeforeSetGroupInfoCommand",
    "afterSetGroupInfo": "callbackAfterSetGroupInfoCommand",
    "beforeSetGroupInfoEx": "callbackBeforeSetGroupInfoExCommand",
    "afterSetGroupInfoEx": "callbackAfterSetGroupInfoExCommand",
    # conversations
    "beforeCreateSingleChatConversations": "callbackBeforeCreateSingleChatConversationsCommand",
    "afterCreateSingleChatConversations": "callbackAfterCreateSingleChatConversationsCommand",
    "beforeCreateGroupChatConversations": "callbackBeforeCreateGroupChatConversationsCommand",
    "afterCreateGroupChatConversations": "callbackAfterCreateGroupChatConversationsCommand",
}

MSG_HOOKS = frozenset(
    {
        "beforeSendSingleMsg",
        "afterSendSingleMsg",
        "beforeSendGroupMsg",
        "afterSendGroupMsg",
        "beforeMsgModify",
        "afterMsgSaveDB",
    }
)
ATTENTION_HOOKS = frozenset({"afterSendSingleMsg", "afterSendGroupMsg", "afterMsgSaveDB"})


def is_before(name: str) -> bool:
    """A `before*` hook: synchronous, may block or modify."""
    return name.startswith("before")


def attribute_name(name: str) -> str:
    """The `Webhooks` attribute of a hook: its key in snake_case (afterMsgSaveDB → after_msg_save_db)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.replace("DB", "Db")).lower()
