"""The docs stay true to the tree: their relative links resolve, and the project cites nothing outside itself.

A clone must stand alone: no file may point at a developer's workspace directory or at the shared directory
beside the repository, which a clone does not have. Cite docs/ by relative path, OpenIM by its public file names.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Strings no tracked file may contain. This file names them, so it is the one file not searched.
# Spelled in pieces so that this file does not contain them either (and so needs no exception).
FORBIDDEN = ("/" + "work/", ".." + "/shared")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", flags=re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", flags=re.MULTILINE)


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git work tree ({exc}): cannot list the project's files")
    return [name for name in out.decode().split("\0") if name]


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (hyphens, underscores kept), spaces → hyphens."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(h) for h in HEADING.findall(text)}


def broken_links(path: Path) -> list[str]:
    """The relative links of one Markdown file whose file, or whose #anchor in a Markdown file, does not exist."""
    problems = []
    for target in LINK.findall(FENCE.sub("", path.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}: {target}"
        if not dest.exists():
            problems.append(f"{where} (no such file)")
        elif not dest.is_relative_to(ROOT):
            problems.append(f"{where} (outside the repository)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{where} (no heading #{anchor} in {dest.relative_to(ROOT)})")
    return problems


# A code citation: an inline code span naming a file of the repository, by its path from the repository root.
CODE_SPAN = re.compile(r"`([^`\s]+)`")
CITED_FILE = re.compile(r"^[\w.-]+(/[\w.-]+)+\.(py|pyi|proto|mjs|md|yaml|yml|toml|conf|service|txt|in|json)$")
CITED_DIR = re.compile(r"^(src|tests|docs|deploy|scripts|proto|config|requirements|bench)(/[\w.-]+)*/$")


def code_citations(path: Path) -> list[str]:
    """The inline code spans of a Markdown file (outside fenced blocks) that look like a path into the repository."""
    spans = CODE_SPAN.findall(FENCE.sub("", path.read_text()))
    return [s for s in (span.rstrip(".,:;") for span in spans) if CITED_FILE.match(s) or CITED_DIR.match(s)]


def test_slug_is_githubs() -> None:
    """Anchors are built as GitHub builds them from headings."""
    assert slug("4. Who may call what") == "4-who-may-call-what"
    assert slug("2.3 JSON (`sdkType=js`)") == "23-json-sdktypejs"
    assert slug("1. Writing (`gojson.to_go`)") == "1-writing-gojsonto_go"


def test_relative_links_resolve() -> None:
    """Every relative link in README.md and docs/**/*.md points to an existing file (and heading)."""
    files = markdown_files()
    assert len(files) >= 8, files  # README, docs/README and the pages it indexes
    problems = [p for f in files for p in broken_links(f)]
    assert not problems, "\n".join(problems)


def test_docs_index_lists_every_doc() -> None:
    """docs/README.md links every other page under docs/."""
    index = ROOT / "docs" / "README.md"
    linked = {(index.parent / t.partition("#")[0]).resolve() for t in LINK.findall(index.read_text())}
    pages = {p.resolve() for p in (ROOT / "docs").rglob("*.md")} - {index.resolve()}
    missing = sorted(str(p.relative_to(ROOT)) for p in pages - linked)
    assert not missing, f"docs/README.md does not list {missing}"


def test_no_file_cites_a_path_outside_the_project() -> None:
    """No tracked file contains a FORBIDDEN path: a clone has neither."""
    problems = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        for needle in FORBIDDEN:
            if needle.encode() in data:
                line = data[: data.index(needle.encode())].count(b"\n") + 1
                problems.append(f"{name}:{line}: {needle}")
    assert not problems, "\n".join(problems)


def test_code_citations_are_paths_from_the_root() -> None:
    """Every file or directory the docs cite in code spans (`src/openim/api/app.py`) exists at that path."""
    cited = {(f, c) for f in markdown_files() for c in code_citations(f)}
    assert len(cited) >= 100, len(cited)  # the docs cite the code a lot; fewer means the pattern broke
    missing = sorted(f"{f.relative_to(ROOT)}: {c}" for f, c in cited if not (ROOT / c).exists())
    assert not missing, "cite code by its path from the repository root:\n" + "\n".join(missing)
