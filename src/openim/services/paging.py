"""Page: OpenIM's 1-based `pagination {pageNumber, showNumber}` turned into offset and limit."""

from __future__ import annotations

from dataclasses import dataclass

from openim.protocol.errors import ArgsError

__all__ = ["Page"]


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
        return (self.number - 1) * self.size

    @property
    def limit(self) -> int:
        """Rows to return; a page of size <= 0 is empty but the total is still reported, as OpenIM does."""
        return max(self.size, 0)
