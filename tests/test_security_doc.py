"""docs/security.md shows the authorization table the matrix tests (tests/access.py), so doc and code agree."""

from __future__ import annotations

from pathlib import Path

from tests.access import REST, WS, markdown_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"
BEGIN, END = "<!-- access-table:begin -->\n", "<!-- access-table:end -->\n"


def test_the_doc_shows_the_tested_table() -> None:
    """The table between the markers is `markdown_table()`; after editing tests/access.py: scripts/security-table."""
    text = DOC.read_text()
    assert BEGIN in text and END in text
    shown = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert shown == markdown_table(), "docs/security.md is stale: run scripts/security-table"


def test_the_table_has_a_row_per_route_and_identifier() -> None:
    """One row for each REST route and each ReqIdentifier, nothing else."""
    rows = [line for line in markdown_table().splitlines() if line.startswith("| `") or line.startswith("| WS ")]
    assert len(rows) == len(REST) + len(WS)


def test_no_placeholder_is_left() -> None:
    """The page is written out: no TODO, TBD or empty section."""
    text = DOC.read_text()
    for word in ("TODO", "TBD", "FIXME", "XXX"):
        assert word not in text
    sections = text.split("\n## ")[1:]
    assert sections and all(len(s.strip().splitlines()) > 1 for s in sections)
