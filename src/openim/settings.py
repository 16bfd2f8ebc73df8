"""Settings: the only reader of `config/config.yaml` and of `OPENIM_*` environment variables.

Keys are spelled as in OpenIM's config files (`imAdminUser.userIDs`, `tokenPolicy.expire`, `websocketMaxMsgLen`),
so an operator can carry values over. Every problem is reported with the file position and key path
(`config.yaml:12:3 api.ports: ...`) so that `openim config check` can point at the line to fix.
Found by `--config PATH`, else `$OPENIM_CONFIG`, else `./config/config.yaml`, else built-in defaults.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from openim.infra.cron import CronSchedule

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "OPENIM_READ_LIMIT",
    "RELOADABLE",
    "ConfigError",
    "Problem",
    "Settings",
    "changed_keys",
    "env_variables",
    "find_config_path",
    "leaf_values",
    "load_settings",
    "mask_url",
    "sections",
    "with_values",
]

DEFAULT_CONFIG_PATH = Path("config/config.yaml")
ENV_PREFIX = "OPENIM_"
# Bytes per WebSocket message OpenIM's gateway reads (`maxMessageSize`); it ignores websocketMaxMsgLen (4096).
OPENIM_READ_LIMIT = 51200


Port = Annotated[int, Field(ge=1, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ImAdminUser(_Section):
    userIDs: list[str] = Field(default_factory=lambda: ["imAdmin"], min_length=1)
    nicknames: list[str] = Field(default_factory=lambda: ["superAdmin"])


_DURATION = re.compile(r"^\s*(\d+)\s*([dhms]?)\s*$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 86400}


class TokenPolicy(_Section):
    # OpenIM's key is in days; "168h" or "90d" spell the unit. Held as seconds.
    expire: int = Field(default=90 * 86400, description="token lifetime; a bare number is days")

    @field_validator("expire", mode="before")
    @classmethod
    def _parse_duration(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a duration such as 90, 90d or 168h")
        if isinstance(value, int):
            return value * 86400
        if isinstance(value, str):
            match = _DURATION.match(value)
            if not match:
                raise ValueError(f"{value!r} is not a duration; write 90 (days), 90d, 168h, 30m or 3600s")
            return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        raise ValueError("must be a duration such as 90, 90d or 168h")

    @field_validator("expire")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be positive")
        return value

    @field_serializer("expire", when_used="json")
    def _as_duration(self, value: int) -> str:
        # A bare number would read back as days: spell the unit so a JSON/YAML dump loads to the same value.
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if value % size == 0:
                return f"{value // size}{unit}"
        return f"{value}s"


class MultiLogin(_Section):
    policy: int = 1
    maxNumOneEnd: int = Field(default=30, ge=1)

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, value: int) -> int:
        if value not in (0, 1, 4, 5):
            raise ValueError(
                "must be 0 (keep up to maxNumOneEnd per platform), 1 (one per platform), "
                "4 (one per platform class) or 5 (PC and one other)"
            )
        return value


class FieldLimits(_Section):
    """Most characters a REST request's string fields hold, by kind (api/limits.py lists the fields of each)."""

    id: int = Field(default=64, ge=1)
    conversationID: int = Field(default=256, ge=1)
    name: int = Field(default=255, ge=1)
    url: int = Field(default=1024, ge=1)
    ex: int = Field(default=1024, ge=1)
    text: int = Field(default=4096, ge=1)


class RateRule(_Section):
    rate: float = Field(gt=0, description="sustained requests per second")
    burst: int = Field(ge=1, description="requests allowed at once")


class RateLimits(_Section):
    # OpenIM: openim-api.yml / openim-msggateway.yml `ratelimiter.enable` (off by default there too).
    enable: bool = False
    ipRequests: RateRule = Field(default_factory=lambda: RateRule(rate=100, burst=400))
    ipConnects: RateRule = Field(default_factory=lambda: RateRule(rate=10, burst=50))
    userSends: RateRule = Field(default_factory=lambda: RateRule(rate=20, burst=100))
    connFrames: RateRule = Field(default_factory=lambda: RateRule(rate=50, burst=200))


class Api(_Section):
    listenIP: str = "0.0.0.0"
    ports: list[Port] = Field(default_factory=lambda: [10002], min_length=1)
    maxConnections: int = Field(default=10000, ge=1, description="open REST connections per process")
    maxConnectionsPerIP: int = Field(default=1000, ge=1, description="open REST connections per client IP")
    headerTimeout: float = Field(default=10, gt=0, description="seconds for a request's line and headers")
    requestTimeout: float = Field(default=60, gt=0, description="seconds for a request's body, after its head")
    keepAliveTimeout: float = Field(default=5, gt=0, description="seconds an idle keep-alive connection stays open")
    maxBodyBytes: int = Field(default=4 << 20, ge=1024, description="largest request body (not /storage uploads)")
    maxOperationIDLen: int = Field(default=128, ge=16, description="longest operationID header")
    fieldLimits: FieldLimits = Field(default_factory=FieldLimits)


class MsgGateway(_Section):
    listenIP: str = "0.0.0.0"
    ports: list[Port] = Field(default_factory=lambda: [10001], min_length=1)
    websocketMaxConnNum: int = Field(default=100000, ge=1)
    websocketMaxMsgLen: int = Field(default=OPENIM_READ_LIMIT, ge=1024, le=4 << 20, description="read limit, bytes")
    # openim-py's own: a gzip frame may inflate to at most websocketMaxMsgLen × this (OpenIM has no cap).
    websocketMaxInflateRatio: int = Field(default=4, ge=1, le=16, description="inflated / read limit")
    websocketTimeout: int = Field(default=10, ge=1, description="seconds allowed for the handshake")

    @property
    def max_inflated_len(self) -> int:
        """Bytes a gzip'd frame may inflate to: websocketMaxMsgLen × websocketMaxInflateRatio."""
        return self.websocketMaxMsgLen * self.websocketMaxInflateRatio


class MaxContentLen(_Section):
    # openim-py's own (OpenIM has none): bytes of a message's `content`, after decompression, by content type.
    text: int = Field(default=32 << 10, ge=1, description="101 text, 106 @text, 117 advanced text, 118 markdown")
    quote: int = Field(default=128 << 10, ge=1, description="107 merged messages, 114 quote")
    media: int = Field(default=16 << 10, ge=1, description="102-105 picture, voice, video, file; 108, 109, 115")
    custom: int = Field(default=64 << 10, ge=1, description="110 custom, 119, 120")
    notification: int = Field(default=64 << 10, ge=1, description="1000-5000 sent through the API (1400, 2001)")
    other: int = Field(default=16 << 10, ge=1, description="every other content type (113 typing, ...)")


class Msg(_Section):
    # OpenIM: openim-rpc-msg.yml `friendVerify`.
    friendVerify: bool = Field(default=False, description="single-chat messages only between friends (else 1303)")
    # openim-py's own: the whole message as stored (serialized MsgData), and what one pull answer may hold.
    maxMsgLen: int = Field(default=192 << 10, ge=1024, le=1 << 20, description="bytes of one message")
    maxContentLen: MaxContentLen = Field(default_factory=MaxContentLen)
    pullMaxBytes: int = Field(default=700 << 10, ge=64 << 10, le=768 << 10, description="bytes of messages per pull")

    @model_validator(mode="after")
    def _message_fits_a_pull(self) -> Msg:
        if self.maxMsgLen > self.pullMaxBytes:
            raise ValueError(
                f"maxMsgLen ({self.maxMsgLen}) must not exceed pullMaxBytes ({self.pullMaxBytes}): "
                "a message larger than a pull answer could never be delivered"
            )
        return self


class Group(_Section):
    # OpenIM: openim-rpc-group.yml `enableHistoryForNewMembers`.
    enableHistoryForNewMembers: bool = Field(default=True, description="new members read the group's history")


class Prometheus(_Section):
    # OpenIM: openim-api.yml `prometheus.grafanaURL`; GET /third/prometheus redirects there.
    grafanaURL: str = Field(default="", description="Grafana's address for browsers; empty = /third/prometheus is 404")


def _cron(value: str) -> str:
    if value.strip():  # "" turns the job off
        CronSchedule.parse(value)  # raises ValueError with what is wrong
    return value


class CronTask(_Section):
    # OpenIM: openim-crontask.yml (cronExecuteTime, retainChatRecords); the other keys are openim-py's. The
    # msgtransfer role runs the jobs, one process of the deployment at a time (jobs/scheduler.py).
    cronExecuteTime: str = Field(
        default="0 2 * * *", description="cron (local time) of the retention and version-log clean-up jobs"
    )
    retainChatRecords: int = Field(
        default=365, ge=0, description="days messages are kept; older ones are deleted for everyone; 0 = forever"
    )
    msgDestructExecuteTime: str = Field(
        default="* * * * *", description='cron of the self-destructing-messages job; "" = off'
    )
    retainVersionLogs: int = Field(
        default=30, ge=0, description="days a deletion stays in the incremental-sync version logs; 0 = forever"
    )

    _check_cron = field_validator("cronExecuteTime", "msgDestructExecuteTime")(_cron)


class Admin(_Section):
    listenIP: str = "127.0.0.1"
    port: int = Field(default=6060, ge=0, le=65535)


class Database(_Section):
    url: str = "sqlite:///data/openim.db"
    poolSize: int = Field(default=20, ge=1)

    @field_validator("url")
    @classmethod
    def _supported_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme.split("+", 1)[0] not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value


class Redis(_Section):
    url: str | None = Field(default=None, description="unset = in-process infra")
    # How long a job may stay delivered but unacknowledged before another msgtransfer takes it over (a consumer
    # killed mid-job leaves it pending): long enough for a slow push, short enough that a dead worker's jobs move.
    jobClaimIdle: float = Field(default=60.0, ge=0.1, le=3600, description="seconds before a pending job is reclaimed")


class Etcd(_Section):
    # OpenIM: discovery.yml `etcd`. Keys go under /<rootDirectory>/ (infra/etcd/discovery.py).
    rootDirectory: str = Field(default="openim", min_length=1, description="first segment of every key")
    address: list[str] = Field(default_factory=lambda: ["localhost:12379"], min_length=1)
    username: str = ""
    password: SecretStr = SecretStr("")

    @field_validator("username", "password", mode="before")
    @classmethod
    def _blank_is_empty(cls, value: object) -> object:
        return "" if value is None else value  # OpenIM's discovery.yml leaves them blank (YAML null)

    @field_validator("rootDirectory")
    @classmethod
    def _plain_root(cls, value: str) -> str:
        root = value.strip("/")
        if not root or any(c.isspace() for c in root):
            raise ValueError("must be a path segment such as openim (no spaces, not only slashes)")
        return root

    @field_validator("address")
    @classmethod
    def _host_ports(cls, value: list[str]) -> list[str]:
        for address in value:
            rest = address.split("://", 1)[-1]
            host, sep, port = rest.rstrip("/").rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address!r} is not host:port (or http://host:port)")
        return value


class Discovery(_Section):
    # OpenIM: discovery.yml. enable: "" = Redis when redis.url is set, else in this process;
    # etcd = the etcd cluster below; redis = Redis (redis.url required); standalone = in this process.
    enable: Literal["", "etcd", "redis", "standalone"] = ""
    etcd: Etcd = Field(default_factory=Etcd)
    # openim-py's: seconds an entry lives without a refresh (refreshed every ttl/3); OpenIM's lease is 30 s.
    ttl: int = Field(default=30, ge=2, le=3600, description="seconds; a killed process disappears within it")
    # OpenIM: `rpc.registerIP` of each service file. The address other hosts reach this one at; empty = the
    # listen IP when it names one, else this host's first non-loopback IPv4 address.
    registerIP: str = ""

    @field_validator("enable", mode="before")
    @classmethod
    def _known_backend(cls, value: object) -> object:
        if value == "kubernetes":
            raise ValueError("kubernetes is not supported by openim-py; use etcd, redis or standalone")
        return "" if value is None else value


class Log(_Section):
    storageLocation: str = "./logs/"
    rotationTime: int = Field(default=24, ge=1, description="hours")
    remainRotationCount: int = Field(default=2, ge=0)
    remainLogLevel: int = Field(default=6, ge=0, le=6, description="0 panic .. 6 trace")
    isStdout: bool = False
    isJson: bool = False


class ObjectLocal(_Section):
    path: str = Field(default="data/objects", description="folder of the local object store")


class ObjectAws(_Section):
    # OpenIM: openim-rpc-third.yml `object.aws`.
    region: str = "us-east-1"
    bucket: str = "openim"
    accessKeyID: str = ""
    secretAccessKey: SecretStr = SecretStr("")
    sessionToken: SecretStr = SecretStr("")
    publicRead: bool = Field(default=False, description="accepted for OpenIM's files; URLs are always signed")


class Object(_Section):
    # OpenIM: openim-rpc-third.yml `object`; the limits and expiries are openim-py's.
    enable: Literal["local", "minio", "aws"] = "local"
    local: ObjectLocal = Field(default_factory=ObjectLocal)
    aws: ObjectAws = Field(default_factory=ObjectAws)
    maxSize: int = Field(default=1 << 30, ge=1, description="largest object in bytes")
    minPartSize: int = Field(default=5 << 20, ge=1024, description="smallest part but the last; S3 needs 5 MiB")
    maxPartSize: int = Field(default=5 << 30, ge=1024)
    maxNumSize: int = Field(default=10000, ge=1, le=10000, description="most parts of one upload")
    urlExpire: int = Field(default=7 * 86400, ge=60, description="seconds a download URL stays valid")
    uploadExpire: int = Field(default=86400, ge=60, description="seconds before an unfinished upload is removed")


class Minio(_Section):
    # OpenIM: minio.yml; any S3-compatible server (MinIO, Ceph RGW, SeaweedFS, ...).
    bucket: str = "openim"
    accessKeyID: str = "root"
    secretAccessKey: SecretStr = SecretStr("openIM123")
    sessionToken: SecretStr = SecretStr("")
    internalAddress: str = "localhost:10005"
    externalAddress: str = Field(default="", description="what clients reach; empty = http://internalAddress")
    publicRead: bool = Field(default=False, description="accepted for OpenIM's files; URLs are always signed")


class PushWebhook(_Section):
    # openim-py's own provider: each offline push is POSTed as JSON to the app server (infra/pushers/webhook.py).
    url: str = Field(default="", description="http(s) URL of the app server that receives offline pushes")
    timeout: float = Field(default=5.0, gt=0, le=60, description="seconds to wait for its answer")


class PushGetui(_Section):
    # OpenIM: openim-push.yml `getui`. pushUrl holds the app ID: https://restapi.getui.com/v2/<appId>.
    pushUrl: str = "https://restapi.getui.com/v2/$appId"
    masterSecret: SecretStr = SecretStr("")
    appKey: str = ""
    intent: str = ""
    channelID: str = ""
    channelName: str = ""


class PushFcm(_Section):
    # OpenIM: openim-push.yml `fcm`: the service-account key file, or a URL serving it. `endpoint` is openim-py's.
    filePath: str = Field(default="", description="service-account JSON file (relative to the working directory)")
    authURL: str = Field(default="", description="http(s) URL serving the service-account JSON, if no filePath")
    endpoint: str = Field(default="https://fcm.googleapis.com", description="FCM's API base URL")


class PushJPush(_Section):
    # OpenIM: openim-push.yml `jpush`.
    appKey: str = ""
    masterSecret: SecretStr = SecretStr("")
    pushURL: str = "https://api.jpush.cn/v3/push"
    pushIntent: str = ""


class IosPush(_Section):
    # OpenIM: openim-push.yml `iosPush`; like OpenIM, only `production` is used (JPush's apns_production).
    pushSound: str = "xxx"
    badgeCount: bool = True
    production: bool = False


class Push(_Section):
    # OpenIM: openim-push.yml. enable: log (default) | webhook | fcm | getui | jpush; OpenIM's empty value is `log`.
    enable: Literal["log", "webhook", "fcm", "getui", "jpush"] = "log"
    webhook: PushWebhook = Field(default_factory=PushWebhook)
    getui: PushGetui = Field(default_factory=PushGetui)
    fcm: PushFcm = Field(default_factory=PushFcm)
    jpush: PushJPush = Field(default_factory=PushJPush)
    iosPush: IosPush = Field(default_factory=IosPush)

    @field_validator("enable", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        # OpenIM lower-cases the value and treats an empty one as "no provider" (its dummy pusher logs once).
        if value is None or value == "":
            return "log"
        return value.lower() if isinstance(value, str) else value


# ---- webhooks (OpenIM: webhooks.yml) ------------------------------------------------------------------------------

_TYPE_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


def _content_types(value: list[int | str]) -> list[int | str]:
    """Entries are content types (101) or inclusive ranges ("200-500", OpenIM 3.8's allowedTypes form)."""
    out: list[int | str] = []
    for item in value:
        if isinstance(item, bool):
            raise ValueError("entries are content types such as 101 or ranges such as 200-500")
        if isinstance(item, int) or (isinstance(item, str) and item.strip().isdigit()):
            out.append(int(item))
            continue
        match = _TYPE_RANGE.match(item)
        if not match or int(match.group(1)) > int(match.group(2)):
            raise ValueError(f"{item!r} is neither a content type (101) nor a range (200-500)")
        out.append(f"{int(match.group(1))}-{int(match.group(2))}")
    return out


class _Hook(_Section):
    enable: bool = False
    # OpenIM's HTTP client gives up after 15 s whatever this says; so does openim-py (webhooks/transport.py).
    timeout: int = Field(default=5, ge=1, description="seconds to wait for the answer (at most 15 are used)")


class BeforeHook(_Hook):
    failedContinue: bool = Field(default=True, description="on a failed call, go on (true) or fail (false)")

    @field_validator("failedContinue", mode="before")
    @classmethod
    def _null_is_default(cls, value: object) -> object:
        # OpenIM's own webhooks.yml leaves beforeAddBlack's failedContinue empty (null).
        return True if value is None else value


class BeforeMsgHook(BeforeHook):
    allowedTypes: list[int | str] = Field(default_factory=list, description="only these content types; [] = all")
    deniedTypes: list[int | str] = Field(default_factory=list, description="never these content types")

    _types = field_validator("allowedTypes", "deniedTypes")(_content_types)


class AfterHook(_Hook):
    pass


class AfterMsgHook(AfterHook):
    attentionIds: list[str] = Field(default_factory=list, description="only these recvIDs/groupIDs; [] = all")
    allowedTypes: list[int | str] = Field(default_factory=list, description="only these content types; [] = all")
    deniedTypes: list[int | str] = Field(default_factory=list, description="never these content types")

    _types = field_validator("allowedTypes", "deniedTypes")(_content_types)


class WebhookRetry(_Section):
    # openim-py's: OpenIM tries an after hook once and drops it when its buffer of 100 is full.
    attempts: int = Field(default=10, ge=1, le=100, description="tries of an after hook before it is a dead letter")
    firstDelay: float = Field(default=1.0, gt=0, le=3600, description="seconds before the second try; doubles")
    maxDelay: float = Field(default=300.0, gt=0, le=86400, description="longest pause between two tries, seconds")


class Webhooks(_Section):
    url: str = Field(default="http://127.0.0.1:10006/callbackExample", description="each hook posts to url/command")
    retry: WebhookRetry = Field(default_factory=WebhookRetry)
    beforeSendSingleMsg: BeforeMsgHook = Field(default_factory=BeforeMsgHook)
    afterSendSingleMsg: AfterMsgHook = Field(default_factory=AfterMsgHook)
    beforeSendGroupMsg: BeforeMsgHook = Field(default_factory=BeforeMsgHook)
    afterSendGroupMsg: AfterMsgHook = Field(default_factory=AfterMsgHook)
    beforeMsgModify: BeforeMsgHook = Field(default_factory=BeforeMsgHook)
    afterMsgSaveDB: AfterMsgHook = Field(default_factory=AfterMsgHook)
    afterGroupMsgRead: AfterHook = Field(default_factory=AfterHook)
    afterSingleMsgRead: AfterHook = Field(default_factory=AfterHook)
    afterRevokeMsg: AfterHook = Field(default_factory=AfterHook)
    afterGroupMsgRevoke: AfterHook = Field(default_factory=AfterHook)
    beforeUserRegister: BeforeHook = Field(default_factory=BeforeHook)
    afterUserRegister: AfterHook = Field(default_factory=AfterHook)
    beforeUpdateUserInfo: BeforeHook = Field(default_factory=BeforeHook)
    afterUpdateUserInfo: AfterHook = Field(default_factory=AfterHook)
    beforeUpdateUserInfoEx: BeforeHook = Field(default_factory=BeforeHook)
    afterUpdateUserInfoEx: AfterHook = Field(default_factory=AfterHook)
    afterUserOnline: AfterHook = Field(default_factory=AfterHook)
    afterUserOffline: AfterHook = Field(default_factory=AfterHook)
    afterUserKickOff: AfterHook = Field(default_factory=AfterHook)
    beforeOfflinePush: BeforeHook = Field(default_factory=BeforeHook)
    beforeOnlinePush: BeforeHook = Field(default_factory=BeforeHook)
    beforeGroupOnlinePush: BeforeHook = Field(default_factory=BeforeHook)
    beforeAddFriend: BeforeHook = Field(default_factory=BeforeHook)
    afterAddFriend: AfterHook = Field(default_factory=AfterHook)
    beforeAddFriendAgree: BeforeHook = Field(default_factory=BeforeHook)
    afterAddFriendAgree: AfterHook = Field(default_factory=AfterHook)
    afterDeleteFriend: AfterHook = Field(default_factory=AfterHook)
    beforeImportFriends: BeforeHook = Field(default_factory=BeforeHook)
    afterImportFriends: AfterHook = Field(default_factory=AfterHook)
    beforeSetFriendRemark: BeforeHook = Field(default_factory=BeforeHook)
    afterSetFriendRemark: AfterHook = Field(default_factory=AfterHook)
    beforeAddBlack: BeforeHook = Field(default_factory=BeforeHook)
    afterRemoveBlack: AfterHook = Field(default_factory=AfterHook)
    beforeCreateGroup: BeforeHook = Field(default_factory=BeforeHook)
    afterCreateGroup: AfterHook = Field(default_factory=AfterHook)
    beforeMemberJoinGroup: BeforeHook = Field(default_factory=BeforeHook)
    beforeSetGroupMemberInfo: BeforeHook = Field(default_factory=BeforeHook)
    afterSetGroupMemberInfo: AfterHook = Field(default_factory=AfterHook)
    afterQuitGroup: AfterHook = Field(default_factory=AfterHook)
    afterKickGroupMember: AfterHook = Field(default_factory=AfterHook)
    afterDismissGroup: AfterHook = Field(default_factory=AfterHook)
    beforeApplyJoinGroup: BeforeHook = Field(default_factory=BeforeHook)
    afterJoinGroup: AfterHook = Field(default_factory=AfterHook)
    beforeInviteUserToGroup: BeforeHook = Field(default_factory=BeforeHook)
    afterTransferGroupOwner: AfterHook = Field(default_factory=AfterHook)
    beforeSetGroupInfo: BeforeHook = Field(default_factory=BeforeHook)
    afterSetGroupInfo: AfterHook = Field(default_factory=AfterHook)
    beforeSetGroupInfoEx: BeforeHook = Field(default_factory=BeforeHook)
    afterSetGroupInfoEx: AfterHook = Field(default_factory=AfterHook)
    beforeCreateSingleChatConversations: BeforeHook = Field(default_factory=lambda: BeforeHook(failedContinue=False))
    afterCreateSingleChatConversations: AfterHook = Field(default_factory=AfterHook)
    beforeCreateGroupChatConversations: BeforeHook = Field(default_factory=lambda: BeforeHook(failedContinue=False))
    afterCreateGroupChatConversations: AfterHook = Field(default_factory=AfterHook)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL, such as http://127.0.0.1:10006/callbackExample")
        return value.rstrip("/")


class Settings(_Section):
    # production: `openim start` refuses the default or a short secret (ops/secret.py).
    env: Literal["development", "production"] = "development"
    secret: SecretStr = SecretStr("openIM123")
    imAdminUser: ImAdminUser = Field(default_factory=ImAdminUser)
    tokenPolicy: TokenPolicy = Field(default_factory=TokenPolicy)
    multiLogin: MultiLogin = Field(default_factory=MultiLogin)
    api: Api = Field(default_factory=Api)
    msggateway: MsgGateway = Field(default_factory=MsgGateway)
    msg: Msg = Field(default_factory=Msg)
    group: Group = Field(default_factory=Group)
    admin: Admin = Field(default_factory=Admin)
    prometheus: Prometheus = Field(default_factory=Prometheus)
    ratelimiter: RateLimits = Field(default_factory=RateLimits)
    cronTask: CronTask = Field(default_factory=CronTask)
    database: Database = Field(default_factory=Database)
    redis: Redis = Field(default_factory=Redis)
    discovery: Discovery = Field(default_factory=Discovery)
    log: Log = Field(default_factory=Log)
    object: Object = Field(default_factory=Object)
    minio: Minio = Field(default_factory=Minio)
    push: Push = Field(default_factory=Push)
    webhooks: Webhooks = Field(default_factory=Webhooks)

    @field_validator("secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty: tokens are signed with it")
        return value

    @model_validator(mode="after")
    def _discovery_backend_configured(self) -> Settings:
        if self.discovery.enable == "redis" and not self.redis.url:
            raise ValueError("discovery.enable is redis but redis.url is not set: set redis.url, or leave enable empty")
        return self

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets and URL passwords replaced by '***'."""
        data = self.model_dump(mode="json")
        data["secret"] = "***"
        for section in (data["minio"], data["object"]["aws"]):
            for key in ("secretAccessKey", "sessionToken"):
                section[key] = "***" if section[key] else ""
        for section in (data["push"]["getui"], data["push"]["jpush"]):
            section["masterSecret"] = "***" if section["masterSecret"] else ""
        data["database"]["url"] = mask_url(self.database.url)
        if self.redis.url:
            data["redis"]["url"] = mask_url(self.redis.url)
        etcd = data["discovery"]["etcd"]
        etcd["password"] = "***" if etcd["password"] else ""
        data["webhooks"]["url"] = mask_url(self.webhooks.url)
        return data


def mask_url(url: str) -> str:
    """The URL with the password of its user part and any `password=` query parameter replaced by '***'."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.startswith("sqlite"):
        return url
    head, qmark, query = rest.partition("?")
    at = head.rfind("@")  # a raw '@' in a password belongs to the user part: the host follows the last one
    if at >= 0:
        user, colon, _password = head[:at].partition(":")
        if colon:
            head = f"{user}:***{head[at:]}"
    query = re.sub(r"(?i)((?:^|[&;])password=)[^&;#]*", r"\1***", query)
    return f"{scheme}://{head}{qmark}{query}"


# Keys a running process applies without a restart (/config/set_config, /restart, runtime.py `Runtime.reload`):
# each one is read live or pushed into the service that holds it. Every other key (ports, addresses, database,
# Redis, secret, admins, object engines, log files) is read once at start and needs the process restarted.
RELOADABLE = frozenset(
    {
        "tokenPolicy.expire",
        "multiLogin.policy",
        "multiLogin.maxNumOneEnd",
        "msggateway.websocketMaxConnNum",
        "msg.friendVerify",
        "group.enableHistoryForNewMembers",
        "prometheus.grafanaURL",
        "log.remainLogLevel",
        "cronTask.cronExecuteTime",
        "cronTask.retainChatRecords",
        "cronTask.msgDestructExecuteTime",
        "cronTask.retainVersionLogs",
        "object.maxSize",
        "object.minPartSize",
        "object.maxPartSize",
        "object.maxNumSize",
        "object.urlExpire",
        "object.uploadExpire",
        "webhooks.url",
    }
    # Every hook's switch, timeout and filters (webhooks.<hook>.enable, …); webhooks.retry is read at start.
    | {
        f"webhooks.{hook}.{leaf}"
        for hook, field in Webhooks.model_fields.items()
        if hook != "retry" and isinstance(field.annotation, type) and issubclass(field.annotation, _Hook)
        for leaf in field.annotation.model_fields
    }
)


def sections() -> list[str]:
    """The top-level sections of the configuration (the config names of /config/*), in file order."""
    return [name for name, field in Settings.model_fields.items() if _section_model(field.annotation) is not None]


def leaf_values(settings: Settings, *, as_written: bool = False) -> dict[str, Any]:
    """Every leaf key path → its value, secrets revealed (compare or re-validate, never print). `as_written`: as
    the file spells it (JSON types, durations with their unit), so that loading it back gives the same value."""
    out: dict[str, Any] = {}
    written = settings.model_dump(mode="json") if as_written else {}

    def walk(model: BaseModel, prefix: str, dumped: dict[str, Any]) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            key = f"{prefix}{name}"
            if isinstance(value, BaseModel):
                walk(value, key + ".", dumped.get(name, {}))
            elif isinstance(value, SecretStr):
                out[key] = value.get_secret_value()
            else:
                out[key] = dumped[name] if as_written else value

    walk(settings, "", written)
    return out


def changed_keys(before: Settings, after: Settings) -> list[str]:
    """The leaf key paths whose values differ, sorted."""
    old, new = leaf_values(before), leaf_values(after)
    return sorted(k for k in new if old.get(k) != new[k])


def with_values(settings: Settings, values: Mapping[str, Any]) -> Settings:
    """A validated copy of `settings` with the given leaf key paths set, each value as the file would spell it
    (ValidationError when one is bad)."""
    data: dict[str, Any] = {}
    for key, value in {**leaf_values(settings, as_written=True), **values}.items():
        _set(data, key, value)
    return Settings.model_validate(data)


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *path, last = key.split(".")
    node = data
    for part in path:
        node = node.setdefault(part, {})
    node[last] = value


@dataclass(frozen=True)
class Problem:
    """One configuration problem, placed at its file position when it came from the file."""

    key: str
    message: str
    source: str = ""
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            where = f"{self.source}:{self.line}:{self.column} "
        else:
            where = f"{self.source}: " if self.source else ""
        return f"{where}{self.key or '(top level)'}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def find_config_path(explicit: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """`--config`, else `$OPENIM_CONFIG`, else `./config/config.yaml` if present, else None (built-in defaults)."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get("OPENIM_CONFIG"):
        return Path(env["OPENIM_CONFIG"])
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def env_variables() -> dict[str, str]:
    """Every `OPENIM_*` variable that overrides a key, mapped to the key path it overrides."""
    return {ENV_PREFIX + "_".join(path).upper(): ".".join(path) for path, _ in _leaf_paths(Settings)}


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the YAML file (if any), apply `OPENIM_*` overrides, validate; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    positions: dict[str, tuple[int, int]] = {}
    source = ""
    if path is not None:
        source = str(path)
        data, positions = _read_yaml(Path(path))
    for name, field in Settings.model_fields.items():
        # A section whose keys are all commented out reads as null: it means "all defaults".
        if name in data and data[name] is None and _section_model(field.annotation) is not None:
            data[name] = {}
    env_keys = _apply_env(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = _unknown_key_message(err["loc"])
            var = env_keys.get(key) or env_keys.get(key.rsplit(".", 1)[0])
            if var:
                problems.append(Problem(key, f"{message} (from ${var})"))
                continue
            line, col = _position(positions, key)
            problems.append(Problem(key, message, source, line, col))
        problems.sort(key=lambda p: (not p.line, p.line, p.column))  # file order first, then the variables
        raise ConfigError(problems) from None


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read the file: {exc.strerror}", str(path))]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise ConfigError([Problem("", f"YAML syntax: {exc.problem}", str(path), line, col)]) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError([Problem("", "the file must hold a mapping of keys", str(path), 1, 1)])
    positions: dict[str, tuple[int, int]] = {}
    _collect_positions(node, "", positions)
    return data, positions


def _collect_positions(node: yaml.Node | None, prefix: str, out: dict[str, tuple[int, int]]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            out[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _collect_positions(value_node, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = f"{prefix}.{index}"
            out[key] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _collect_positions(item, key, out)


def _position(positions: dict[str, tuple[int, int]], key: str) -> tuple[int, int]:
    """The position of the key, or of its nearest ancestor present in the file (a missing key's section)."""
    parts = key.split(".")
    while parts:
        found = positions.get(".".join(parts))
        if found:
            return found
        parts.pop()
    return (0, 0)


def _section_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unknown_key_message(loc: tuple[int | str, ...]) -> str:
    """Name the key that was probably meant: keys are case-sensitive here, as they are not in OpenIM (viper)."""
    model: type[BaseModel] | None = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        model = _section_model(field.annotation) if field else None
    if model is None:
        return "unknown key (check its spelling against config/config.yaml)"
    known = list(model.model_fields)
    name = str(loc[-1])
    guess = [k for k in known if k.lower() == name.lower()] or difflib.get_close_matches(name, known, n=1)
    if guess:
        return f"unknown key; did you mean {guess[0]}?"
    return f"unknown key; expected one of: {', '.join(known)}"


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    paths: list[tuple[tuple[str, ...], Any]] = []
    for name, field in model.model_fields.items():
        section = _section_model(field.annotation)
        if section is not None:
            paths.extend(_leaf_paths(section, (*prefix, name)))
        else:
            paths.append(((*prefix, name), field.annotation))
    return paths


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Overlay `OPENIM_<PATH>` variables (lists comma-separated) onto data; return key path → variable name."""
    applied: dict[str, str] = {}
    for path, annotation in _leaf_paths(Settings):
        var = ENV_PREFIX + "_".join(path).upper()
        if var not in env:
            continue
        raw = env[var]
        # Booleans and numbers are parsed by pydantic, which rejects nonsense; a secret is taken verbatim.
        value: Any = raw if annotation is SecretStr else raw.strip()
        if "list" in str(annotation):
            value = [item.strip() for item in raw.split(",") if item.strip()]
        elif value == "" and type(None) in get_args(annotation):
            value = None  # OPENIM_REDIS_URL= unsets the key
        node = data
        for part in path[:-1]:
            existing = node.get(part)
            if existing is None:
                existing = {}
                node[part] = existing
            if not isinstance(existing, dict):
                break  # the file gives this section a scalar: leave it for validation to report
            node = existing
        else:
            node[path[-1]] = value
            applied[".".join(path)] = var
    return applied
