"""Storage: SQLAlchemy Core over SQLite or PostgreSQL, one code path, one repository per table group.

`open_storage(url)` connects, migrates to the newest revision and returns a `Storage` holding the `Db`
and the repositories; `runtime.py` builds it once and hands it to the services. Only `dialect.py` knows
which database is underneath; repositories return the dataclasses of `rows.py`.
"""

from __future__ import annotations

from openim.storage import migrate as _migrate
from openim.storage.config import ClientConfigRepo
from openim.storage.config_override import ConfigOverrideRepo
from openim.storage.conversation import ConversationRepo
from openim.storage.cron_task import CronTaskRepo
from openim.storage.db import Db
from openim.storage.facts import FactCache
from openim.storage.friend import FriendRepo
from openim.storage.group import GroupRepo
from openim.storage.msg import MsgRepo
from openim.storage.msg.expiry import MsgExpiryRepo
from openim.storage.msg.search import MsgSearchRepo
from openim.storage.object import ObjectRepo
from openim.storage.queue import QueueRepo
from openim.storage.statistics import StatisticsRepo
from openim.storage.third import ThirdRepo
from openim.storage.user import UserRepo
from openim.storage.user_command import UserCommandRepo
from openim.storage.version import VersionRepo

__all__ = ["Storage", "open_storage"]


class Storage:
    """The open database and its repositories."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.facts = FactCache(db)  # what sends check, in memory; the writing repositories keep it current
        self.user = UserRepo(db, self.facts)
        self.user_command = UserCommandRepo(db)
        self.config = ClientConfigRepo(db)
        self.msg = MsgRepo(db)
        self.msg_search = MsgSearchRepo(db)
        self.msg_expiry = MsgExpiryRepo(db)
        self.conversation = ConversationRepo(db, self.facts)
        self.version = VersionRepo(db)
        self.friend = FriendRepo(db, self.facts)
        self.group = GroupRepo(db, self.facts)
        self.object = ObjectRepo(db)
        self.third = ThirdRepo(db)
        self.statistics = StatisticsRepo(db)
        self.cron_task = CronTaskRepo(db)
        self.config_override = ConfigOverrideRepo(db)
        self.queue = QueueRepo(db)

    async def close(self) -> None:
        """Close the pool; repositories must not be used afterwards."""
        await self.db.close()


async def open_storage(url: str, *, pool_size: int = 20, migrate: bool = True) -> Storage:
    """Connect to `url` and, unless `migrate` is False, upgrade the schema to the newest revision."""
    db = await Db.connect(url, pool_size=pool_size)
    try:
        if migrate:
            await _migrate.upgrade(db)
    except BaseException:
        await db.close()
        raise
    return Storage(db)
