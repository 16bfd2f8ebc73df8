"""The Redis implementations of the infra protocols, for deployments that run roles in several processes.

`connect(url)` opens the one client a process shares; each class wraps it and keeps the contract of its protocol
in `openim.infra` (proven by the same contract suite as the in-memory implementation):

* `RedisTokenStore` (`infra/tokens.py` `TokenStore`) — OpenIM's own token keys, so tokens issued by an
  OpenIM deployment keep working;
* `RedisPresence` (`infra/presence.py` `Presence`) — connections registered with a TTL that gateways refresh;
* `RedisBus` (`infra/bus.py` `Bus`) — pushes and kicks between roles over pub/sub.
"""

from __future__ import annotations

from openim.infra.redis.bus import RedisBus
from openim.infra.redis.client import connect, mask_url
from openim.infra.redis.presence import PRESENCE_KEY_PREFIX, RedisPresence, presence_key
from openim.infra.redis.tokens import RedisTokenStore

__all__ = [
    "PRESENCE_KEY_PREFIX",
    "RedisBus",
    "RedisPresence",
    "RedisTokenStore",
    "connect",
    "mask_url",
    "presence_key",
]
