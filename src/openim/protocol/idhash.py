"""idHash: OpenIM's fingerprint of an ID list, as the `get_full_*_ids` routes compare it (`pkg/util/hashutil`).

`id_hash(ids)` is the first 8 bytes, read as a big-endian uint64, of the MD5 of the Go `encoding/json`
encoding of the list — `["a","b"]`: no spaces, HTML characters and U+2028/U+2029 escaped as `\\u003c` etc.,
non-ASCII text as raw UTF-8 — and 0 for an empty list. The list is hashed in the order given (the server's
order for that list), so callers must pass IDs exactly as they would send them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from openim.protocol import gojson

__all__ = ["go_json_strings", "id_hash"]


def go_json_strings(values: Sequence[str]) -> bytes:
    """The bytes Go's `json.Marshal([]string)` produces for `values` (Go ≥ 1.22 escapes of \\b and \\f)."""
    # A lone surrogate cannot be valid UTF-8; Go would have turned it into U+FFFD when decoding the ID (dumps does).
    return gojson.dumps(list(values))


def id_hash(ids: Sequence[str]) -> int:
    """OpenIM's `hashutil.IdHash`: a uint64 fingerprint of `ids` in their order; 0 for an empty list."""
    if not ids:
        return 0
    return int.from_bytes(hashlib.md5(go_json_strings(ids)).digest()[:8], "big")
