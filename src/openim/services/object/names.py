"""Object names and hashes as OpenIM accepts them (`internal/rpc/third/tool.go` checkUploadName).

A name is what a client uploads under and later asks for (`<userID>/msg_picture_….png`): non-admins write only
under their own `<userID>/`, admins anywhere; never starting with `/`, at most 1024 characters of valid UTF-8.
"""

from __future__ import annotations

import re

from openim.protocol.errors import ArgsError, NoPermissionError
from openim.services.auth import Caller

__all__ = ["HASH_PATH", "check_hash", "check_key", "check_upload_name"]

HASH_PATH = "openim/data/hash/"  # OpenIM's key of an uploaded object: its hash under this folder
_MD5 = re.compile(r"^[0-9a-f]{32}$")


def check_upload_name(caller: Caller, name: str) -> None:
    if not name:
        raise ArgsError("name is empty")
    if name[0] == "/":
        raise ArgsError("name cannot start with `/`")
    if not name.strip():
        raise ArgsError("object name cannot be empty")
    if len(name) > 1024:
        raise ArgsError("object name cannot be longer than 1024 characters")
    try:
        name.encode()
    except UnicodeEncodeError:
        raise ArgsError("object name with non UTF-8 strings are not supported") from None
    if not caller.is_admin and not name.startswith(caller.user_id + "/"):
        raise NoPermissionError(f"name must start with `{caller.user_id}/`")


def check_hash(value: str) -> str:
    """The md5 hex an upload announces (OpenIM: the md5 of its parts' md5s joined by ',')."""
    if not _MD5.match(value.lower()):
        raise ArgsError("hash must be an md5 in hex (32 characters)")
    return value.lower()


def check_key(name: str) -> str:
    """A name an admin asks to store under as it is (form uploads with `absolute`): a plain relative path."""
    parts = name.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts) or "\\" in name or "\0" in name:
        raise ArgsError("an absolute name must be a relative path without empty, `.` or `..` segments")
    return name
