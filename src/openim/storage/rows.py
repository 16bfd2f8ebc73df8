"""Row dataclasses: the immutable values repositories return and accept.

They mirror the tables in `schema.py` column for column, snake_case, with times as Unix milliseconds.
They are plain data: no database handles, no wire spelling (the API models map `userID` ↔ `user_id`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClientConfigEntry", "User"]


@dataclass(frozen=True, slots=True)
class User:
    """One row of `user`; `app_manager_level` 2 = imAdmin, ≥ 3 = notification account (OpenIM's appMangerLevel)."""

    user_id: str
    nickname: str
    face_url: str
    ex: str
    app_manager_level: int
    global_recv_msg_opt: int
    create_time: int


@dataclass(frozen=True, slots=True)
class ClientConfigEntry:
    """One row of `client_config`; `user_id` "" is the global entry every user inherits."""

    key: str
    user_id: str
    value: str
