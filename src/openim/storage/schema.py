"""Schema: `metadata` and every table, the single description both databases are built from.

Alembic revisions under `migrations/versions/` reproduce this file exactly (a test compares them), so a
change here always comes with a new revision. Conventions:

- Table names are OpenIM's collection names (`user`, `config` → `client_config`), singular.
  `user` is a reserved word in PostgreSQL: SQLAlchemy and Alembic quote it, but by hand in psql write
  `SELECT * FROM "user"` — unquoted `user` is the `current_user` function and silently returns one row.
- Free text (nicknames, URLs, `ex`) is `Text`, so SQLite and PostgreSQL accept the same values;
  identifiers are `String(64)`, which PostgreSQL enforces and SQLite does not, so services validate lengths.
- Times are `BigInteger` Unix milliseconds; no timezone-aware types anywhere.
- Constraint and index names come from `naming_convention`, so later revisions can name what they alter.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text, text

__all__ = ["client_config", "metadata", "user"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = String(64)

user = Table(
    "user",
    metadata,
    Column("user_id", _ID, primary_key=True),
    Column("nickname", Text, nullable=False, server_default=text("''")),
    Column("face_url", Text, nullable=False, server_default=text("''")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    Column("app_manager_level", Integer, nullable=False, server_default=text("0")),
    Column("global_recv_msg_opt", Integer, nullable=False, server_default=text("0")),
    Column("create_time", BigInteger, nullable=False),
    Index(None, "create_time"),
)

client_config = Table(
    "client_config",
    metadata,
    Column("key", Text, nullable=False),
    Column("user_id", _ID, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("key", "user_id"),
    Index(None, "user_id"),
)
