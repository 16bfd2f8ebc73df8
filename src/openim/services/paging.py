"""Page: OpenIM's 1-based `pagination {pageNumber, showNumber}` turned into offset and limit."""

from __future__ import annotations

from dataclasses import dataclass

from openim.protocol.errors import ArgsError

__all__ = ["MAX_ROWS", "Page"]

# The largest OFFSET and LIMIT a database takes (a signed 64-bit integer on SQLite and PostgreSQL). A page whose
# (pageNumber-1)*showNumber passes it starts past the end of any table: it is empty, not an overflow error.
MAX_ROWS = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int

    @classmethod
    def checked(cls, number: int | None, size: int | None) -> Page:
        """OpenIM's Check(): pagination present and pageNumber >= 1 (showNumber is not checked there)."""
        if number is None:
            raise ArgsError("pagination is empty")
        if number < 1:
            raise ArgsError("pageNumber is invalid")
        return cls(number, size or 0)

    @property
    def offset(self) -> int:
        return min((self.number - 1) * max(self.size, 0), MAX_ROWS)

    @property
    def limit(self) -> int:
        """Rows to return; a page of size <= 0 is empty but the total is still reported, as OpenIM does."""
        return min(max(self.size, 0), MAX_ROWS)
