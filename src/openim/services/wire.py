"""sdkws messages built from storage rows, for the services that put them into tips and answers.

One place for each conversion, so a GroupInfo in a 1501 tip and in a /jssdk answer cannot drift apart.
"""

from __future__ import annotations

from openim.protocol.pb import sdkws_pb2 as pb
from openim.storage.group import GroupSummary
from openim.storage.rows import GroupMember, User

__all__ = ["group_info_pb", "member_pb", "public_user_pb", "user_info_pb"]


def group_info_pb(summary: GroupSummary) -> pb.GroupInfo:
    """sdkws.GroupInfo of a group with its owner and member count."""
    g = summary.group
    return pb.GroupInfo(
        groupID=g.group_id,
        groupName=g.group_name,
        notification=g.notification,
        introduction=g.introduction,
        faceURL=g.face_url,
        ownerUserID=summary.owner_user_id,
        createTime=g.create_time,
        memberCount=summary.member_count,
        ex=g.ex,
        status=g.status,
        creatorUserID=g.creator_user_id,
        groupType=g.group_type,
        needVerification=g.need_verification,
        lookMemberInfo=g.look_member_info,
        applyMemberFriend=g.apply_member_friend,
        notificationUpdateTime=g.notification_update_time,
        notificationUserID=g.notification_user_id,
    )


def member_pb(m: GroupMember) -> pb.GroupMemberFullInfo:
    """sdkws.GroupMemberFullInfo of a membership (nickname and face as given: populate first)."""
    return pb.GroupMemberFullInfo(
        groupID=m.group_id,
        userID=m.user_id,
        roleLevel=m.role_level,
        joinTime=m.join_time,
        nickname=m.nickname,
        faceURL=m.face_url,
        joinSource=m.join_source,
        operatorUserID=m.operator_user_id,
        ex=m.ex,
        muteEndTime=m.mute_end_time,
        inviterUserID=m.inviter_user_id,
    )


def public_user_pb(user_id: str, user: User | None) -> pb.PublicUserInfo:
    if user is None:
        return pb.PublicUserInfo(userID=user_id)
    return pb.PublicUserInfo(userID=user.user_id, nickname=user.nickname, faceURL=user.face_url, ex=user.ex)


def user_info_pb(user: User) -> pb.UserInfo:
    """sdkws.UserInfo of a registered user."""
    return pb.UserInfo(
        userID=user.user_id,
        nickname=user.nickname,
        faceURL=user.face_url,
        ex=user.ex,
        createTime=user.create_time,
        appMangerLevel=user.app_manager_level,
        globalRecvMsgOpt=user.global_recv_msg_opt,
    )
