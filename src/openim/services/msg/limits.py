"""How big a message may be: its `content` by content type and the whole stored message, and how many bytes of
messages one pull answers (docs/security.md, "Input limits").

OpenIM bounds neither: its only bound is the gateway's read limit (51,200 bytes per frame, before gunzip), so a
gzip'd frame of 4 KB could carry megabytes of content, stored and then served on every sync in one frame larger
than the 1 MiB the Go SDK reads. Here every send through `MsgService.send` or `batch_send` (WS 1003, REST send_msg,
batch_send_msg, send_business_notification, send_simple_msg) is measured after decompression and refused with 1001
ArgsError when it is too big; the server's own notifications are not (their size is the server's doing), and pulls
page by bytes (`services/msg/sync.py`). The values come from `msg.maxMsgLen`, `msg.maxContentLen.*` and
`msg.pullMaxBytes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from openim.protocol.constants import ContentType, is_notification
from openim.protocol.errors import ArgsError
from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = ["CONTENT_GROUPS", "MsgLimits", "content_group"]

# Which `msg.maxContentLen` key bounds each content type; a type not listed (and not a notification) is "other".
CONTENT_GROUPS: Final[dict[str, frozenset[int]]] = {
    "text": frozenset({ContentType.TEXT, ContentType.AT_TEXT, ContentType.ADVANCED_TEXT, ContentType.MARKDOWN_TEXT}),
    "quote": frozenset({ContentType.MERGER, ContentType.QUOTE}),  # they carry the messages quoted or forwarded
    "media": frozenset(
        {
            ContentType.PICTURE,
            ContentType.VOICE,
            ContentType.VIDEO,
            ContentType.FILE,
            ContentType.CARD,
            ContentType.LOCATION,
            ContentType.FACE,
        }
    ),
    "custom": frozenset(
        {ContentType.CUSTOM, ContentType.CUSTOM_NOT_TRIGGER_CONVERSATION, ContentType.CUSTOM_ONLINE_ONLY}
    ),
}
_GROUP_OF: Final = {ct: name for name, types in CONTENT_GROUPS.items() for ct in types}


def content_group(content_type: int) -> str:
    """The `msg.maxContentLen` key of a content type: text, quote, media, custom, notification or other."""
    group = _GROUP_OF.get(content_type)
    if group is not None:
        return group
    return "notification" if is_notification(content_type) else "other"


@dataclass(frozen=True, slots=True)
class MsgLimits:
    """Sizes in bytes; the defaults are `config/config.yaml`'s."""

    max_msg_len: int = 192 << 10
    text: int = 32 << 10
    quote: int = 128 << 10
    media: int = 16 << 10
    custom: int = 64 << 10
    notification: int = 64 << 10
    other: int = 16 << 10
    pull_max_bytes: int = 700 << 10

    def content_limit(self, content_type: int) -> tuple[str, int]:
        """The config key and the limit that bound the content of `content_type`."""
        group = content_group(content_type)
        limit: int = getattr(self, group)
        return f"msg.maxContentLen.{group}", limit

    def check(self, msg: MsgData) -> None:
        """ArgsError (1001) when `msg`'s content or the whole message is larger than allowed."""
        key, limit = self.content_limit(msg.contentType)
        size = len(msg.content)
        if size > limit:
            raise ArgsError(
                f"content of contentType {msg.contentType} is {size} bytes, more than the {limit} allowed ({key})"
            )
        total = msg.ByteSize()
        if total > self.max_msg_len:
            raise ArgsError(f"the message is {total} bytes, more than the {self.max_msg_len} allowed (msg.maxMsgLen)")
