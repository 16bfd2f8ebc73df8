"""Alembic environment: runs the revisions on the connection `openim.storage.migrate` hands over.

There is no alembic.ini and no URL here: `migrate.py` builds the Config in code and puts an open
connection, already inside a transaction, in `config.attributes["connection"]`. Use `openim migrate`
(or `openim.storage.migrate.upgrade`), not the alembic command line.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from openim.storage.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through openim.storage.migrate, which passes the connection in")

# The caller began the transaction (BEGIN IMMEDIATE on SQLite), so DDL is transactional on both databases.
context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
