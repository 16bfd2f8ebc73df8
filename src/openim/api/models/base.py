"""Request decoding as OpenIM does it (Go encoding/json into protobuf structs).

Keys match case-insensitively (exact spelling preferred), unknown keys are ignored, `null` means the zero
value (or "unset" for wrapper fields), and types are strict: `"1"` for an int or `1.5` for an int is an error.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openim.api.limits import check_fields, kind_of
from openim.services.paging import Page

__all__ = ["Int32", "Int64", "Pagination", "Req", "Resp", "page_of"]

# An int32 or int64 field of OpenIM's request (Go's decoder refuses anything larger: 1001 here too, never a database
# error). Integers past 64 bits are refused for every field when the body is decoded (openim.protocol.inputs).
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class Req(BaseModel):
    """Base of request bodies: every field has its Go zero value as default; Check() rules live in services."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    _lower_names: ClassVar[dict[str, str]] = {}
    _limit_kinds: ClassVar[dict[str, str]] = {}  # field → kind of its size limit (api/limits.py)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._lower_names = {}
        cls._limit_kinds = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._lower_names = {name.lower(): name for name in cls.model_fields}
        cls._limit_kinds = {name: kind for name in cls.model_fields if (kind := kind_of(name)) is not None}

    @model_validator(mode="before")
    @classmethod
    def _go_keys(cls, data: Any) -> Any:
        if data is None:
            return {}
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if value is None:
                continue
            if key in cls.model_fields:
                out[key] = value
                continue
            name = cls._lower_names.get(key.lower()) if isinstance(key, str) else None
            if name is not None and name not in data:
                out.setdefault(name, value)
        if cls._limit_kinds:
            check_fields(out, cls._limit_kinds)
        return out


class Resp(BaseModel):
    """Base of response bodies: field names are the wire names; all fields always printed."""

    model_config = ConfigDict(frozen=True)


class Pagination(Req):
    pageNumber: Int32 = 0
    showNumber: Int32 = 0


def page_of(pagination: Pagination | None) -> Page:
    """The checked page of a request's optional `pagination` (1001 when absent or pageNumber < 1)."""
    if pagination is None:
        return Page.checked(None, None)
    return Page.checked(pagination.pageNumber, pagination.showNumber)
