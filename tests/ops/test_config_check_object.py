"""`openim config check` on the object settings: part sizes the SDKs could not upload with are problems."""

from __future__ import annotations

from openim.ops.config_check import check_config


def test_min_part_size_above_max_is_a_problem() -> None:
    """object.minPartSize > object.maxPartSize is refused, naming the key and the variable."""
    report = check_config(None, {"OPENIM_OBJECT_MINPARTSIZE": "10000000", "OPENIM_OBJECT_MAXPARTSIZE": "5000000"})
    assert not report.ok
    assert [p.key for p in report.problems] == ["object.minPartSize"]
    assert "$OPENIM_OBJECT_MINPARTSIZE" in str(report.problems[0])


def test_small_parts_are_refused_for_s3_only() -> None:
    """Parts under 5 MiB are fine on local disk and a problem with an S3-compatible engine."""
    assert check_config(None, {"OPENIM_OBJECT_MINPARTSIZE": "65536"}).ok
    report = check_config(None, {"OPENIM_OBJECT_MINPARTSIZE": "65536", "OPENIM_OBJECT_ENABLE": "minio"})
    assert [p.key for p in report.problems] == ["object.minPartSize"]
    assert "5 MiB" in report.problems[0].message
