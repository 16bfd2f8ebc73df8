"""The README's walk-through, pasted into bash as written, against a real `openim start` (what `make run` starts).

The ```sh blocks of the section "A first walk-through" are run line by line. Only two things in them change:

* `localhost:10002` becomes `localhost:<the test server's REST port>`;
* a placeholder line `NAME=eyJ…` (the reader pastes the token there by hand) becomes `NAME='<token>'`, where the
  token is `data.token` of the answer of the command just before it.

Everything else is the README's text. A command (its lines up to one that does not end in `\\`) runs in
`bash -euo pipefail` after the variable lines seen so far; its output must match the `# → …` line that follows
it, where `…` stands for any text and the rest is literal. A command the README shows no answer for fails the
test, so every step of the walk-through keeps showing what it answers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.process import ServerProcess, clean_env, start_server

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SECTION = "## A first walk-through"
PORT = "localhost:10002"
ANSWER = "# → "
PLACEHOLDER = re.compile(r"^([A-Z_]+)=eyJ…(\s+#.*)?$")
COMMAND_TIMEOUT_S = 30


@dataclass(frozen=True)
class Step:
    """One thing the walk-through does: run `command` and expect `answer`, or set `variable` from a token."""

    command: str = ""
    answer: str = ""
    variable: str = ""


def walk_through_blocks(text: str) -> list[str]:
    """The ```sh blocks of the walk-through section."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"^```sh\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)


def steps_of(block: str) -> Iterator[Step]:
    """Commands with their shown answers, and token placeholders, in the block's order."""
    pending: list[str] = []
    command = ""
    for line in block.splitlines():
        if pending or not (line.startswith("#") or not line.strip()):
            if placeholder := PLACEHOLDER.match(line):
                assert not command, f"no answer shown for: {command}"
                yield Step(variable=placeholder.group(1))
                continue
            pending.append(line)
            if line.endswith("\\"):
                continue
            assert not command, f"no answer shown for: {command}"
            command, pending = "\n".join(pending), []
        elif line.startswith(ANSWER):
            assert command, f"an answer with no command before it: {line}"
            yield Step(command=command, answer=line.removeprefix(ANSWER))
            command = ""
    assert not command and not pending, f"no answer shown for: {command or pending}"


def answer_pattern(shown: str) -> re.Pattern[str]:
    """The shown answer as a pattern: `…` is any text, the rest literal."""
    return re.compile(".*?".join(re.escape(part) for part in shown.split("…")), flags=re.DOTALL)


def run_walk_through(text: str, server: ServerProcess) -> list[str]:
    """Run every step against `server`; return the problems (empty when every answer is as shown)."""
    blocks = walk_through_blocks(text)
    assert blocks, f"README.md has no ```sh block under {SECTION!r}"
    variables: list[str] = []
    problems: list[str] = []
    previous = ""
    for block in blocks:
        for step in steps_of(block):
            if step.variable:
                token = json.loads(previous)["data"]["token"]
                variables.append(f"{step.variable}='{token}'")
                continue
            command = step.command.replace(PORT, f"localhost:{server.api}")
            script = "\n".join([*variables, command])
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                env=clean_env(),
                check=False,
            )
            previous = done.stdout.strip()
            if done.returncode != 0 or not answer_pattern(step.answer).fullmatch(previous):
                problems.append(
                    f"{step.command}\n  shown:    {step.answer}\n  answered: {previous}"
                    f"\n  exit {done.returncode} {done.stderr.strip()}"
                )
                if "token" in step.answer:
                    break  # the next placeholder has no token to take
    return problems


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """`openim start` with every role, as `make run` starts it: the repository's config, a fresh data dir."""
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    process = start_server(tmp_path)
    try:
        yield process
    finally:
        process.stop()


def test_steps_are_parsed_as_the_reader_sees_them() -> None:
    """The parser pairs each command with the answer under it and takes `NAME=eyJ…` lines as placeholders."""
    block = (
        "# a comment\n"
        "curl -s a \\\n"
        "     -d '{}'\n"
        '# → {"errCode":0,"data":{"token":"eyJ…"}}\n'
        "ADMIN=eyJ…   # the token from above\n"
        'curl -s b -H "token: $ADMIN"\n'
        '# → {"errCode":0}\n'
    )
    assert list(steps_of(block)) == [
        Step(command="curl -s a \\\n     -d '{}'", answer='{"errCode":0,"data":{"token":"eyJ…"}}'),
        Step(variable="ADMIN"),
        Step(command='curl -s b -H "token: $ADMIN"', answer='{"errCode":0}'),
    ]
    with pytest.raises(AssertionError, match="no answer shown"):
        list(steps_of("curl -s a\ncurl -s b\n# → x\n"))
    assert answer_pattern('{"t":"eyJ…","n":…}').fullmatch('{"t":"eyJabc","n":12}')
    assert not answer_pattern('{"errCode":0}').fullmatch('{"errCode":1001}')


def test_walk_through_has_every_step() -> None:
    """The walk-through registers alice and bob, logs alice in, sends alice → bob and pulls it back."""
    steps = [s for block in walk_through_blocks(README.read_text()) for s in steps_of(block)]
    commands = " ".join(s.command for s in steps)
    for route in ("/auth/get_admin_token", "/user/user_register", "/auth/get_user_token", "/msg/send_msg"):
        assert route in commands, route
    assert "/msg/pull_msg_by_seq" in commands
    assert [s.variable for s in steps if s.variable] == ["ADMIN", "ALICE"]


@pytest.mark.slow
def test_readme_walk_through_answers_as_shown(server: ServerProcess) -> None:
    """Every command of the walk-through, run in bash against a fresh server, answers what the README shows."""
    for tool in ("bash", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    problems = run_walk_through(README.read_text(), server)
    assert not problems, "\n\n".join(problems)
