"""Messages and their per-conversation seqs (tables `seq_conversation`, `msg`, `msg_user_delete`).

`repo.MsgRepo` is the repository (the batched write path and the per-user reads), `values` the dataclasses it
takes and returns, `render` how a stored message looks on the wire to a given reader. Everything is
re-exported here: `from openim.storage.msg import MsgRepo, NewMsg, …`.
"""

from __future__ import annotations

from openim.storage.msg.render import go_json, notification_content, placeholder
from openim.storage.msg.repo import MsgRepo
from openim.storage.msg.values import Appended, AppendStats, MsgRevoke, NewMsg, SeqState, SeqView, StoredMsg

__all__ = [
    "AppendStats",
    "Appended",
    "MsgRepo",
    "MsgRevoke",
    "NewMsg",
    "SeqState",
    "SeqView",
    "StoredMsg",
    "go_json",
    "notification_content",
    "placeholder",
]
