"""Tests for openim.protocol.idhash: Go's JSON bytes for a string list and OpenIM's IdHash over them."""

from __future__ import annotations

import hashlib

from openim.protocol.idhash import go_json_strings, id_hash


def test_empty_list_hashes_to_zero() -> None:
    """No IDs hash to 0, the value the SDKs send when they hold nothing."""
    assert id_hash([]) == 0


def test_bytes_are_compact_json() -> None:
    """Go's json.Marshal writes ["a","b"] with no spaces."""
    assert go_json_strings(["a", "b"]) == b'["a","b"]'


def test_hash_is_first_eight_md5_bytes_big_endian() -> None:
    """The hash of ["a","b"] is the big-endian uint64 of MD5('["a","b"]')[:8] (md5 e53f04d1bcc1428d…)."""
    assert hashlib.md5(b'["a","b"]').hexdigest().startswith("e53f04d1bcc1428d")
    assert id_hash(["a", "b"]) == 0xE53F04D1BCC1428D


def test_order_matters() -> None:
    """The list is hashed as given: the same IDs in another order give another hash."""
    assert id_hash(["a", "b"]) != id_hash(["b", "a"])


def test_go_escapes() -> None:
    """HTML characters and U+2028/2029 are escaped as Go does; other non-ASCII stays raw UTF-8."""
    assert go_json_strings(["<a&b>"]) == b'["\\u003ca\\u0026b\\u003e"]'
    assert go_json_strings(["\u2028\u2029"]) == b'["\\u2028\\u2029"]'
    assert go_json_strings(["é中"]) == '["é中"]'.encode()


def test_control_characters() -> None:
    """Control characters use Go's short escapes where it has them, \\u00XX (lowercase hex) otherwise."""
    assert go_json_strings(['"\\\n\r\t\b\f\x01\x1f\x7f']) == b'["\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\x7f"]'
