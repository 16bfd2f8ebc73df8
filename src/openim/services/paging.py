"""Page: OpenIM's 1-based `pagination {pageNumber, showNumber}` turned into offset and limit."""

from __future__ import annotations

from dataclasses import dataclass

from openim.protocol.errors import ArgsError

__all__ = ["MAX_ROWS", "Page"]

# The largest OFFSET and LIMIT a database takes (a signed 64-bit integer on SQLite and PostgreSQL). A page whose
# (pageNumber-1)*showNumber passes it starts past the end of any table: it is empty, not an overflow error.
MAX_ROWS = (1 << 63) - 1

_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int

    @classmethod
    def checked(cls, number: int | None, size: int | None) -> Page:
        """OpenIM's Check(): pagination present and pageNumber >= 1 (showNumber is not checked there).

        Both are int32 in OpenIM's `RequestPagination`, so a larger number is refused (Go's decoder refuses it
        too) rather than turned into an offset past int64.
        """
        if number is None:
            raise ArgsError("pagination is empty")
        if not 1 <= number <= _INT32_MAX:
            raise ArgsError(f"pageNumber is invalid: {number} (1 to {_INT32_MAX})")
        if size is not None and not _INT32_MIN <= size <= _INT32_MAX:
            raise ArgsError(f"showNumber is invalid: {size} (an int32)")
        return cls(number, size or 0)

    @property
    def offset(self) -> int:
        return min((self.number - 1) * max(self.size, 0), MAX_ROWS)

    @property
    def limit(self) -> int:
        """Rows to return; a page of size <= 0 is empty but the total is still reported, as OpenIM does."""
        return min(max(self.size, 0), MAX_ROWS)
