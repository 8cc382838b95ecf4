"""Nothing from a model folder can become a GitHub Actions workflow command.

The runner reads every line a step prints: one starting with ``::`` (after blanks; lines end at
``\\n``, ``\\r\\n`` or ``\\r``) or holding ``##[`` is a command, ``::stop-commands::``,
``::add-mask::``, ``::error::``… Names from the model folder reach our output (a field name with a
line break, a folder called ``::warning::x``). Under ``GITHUB_ACTIONS=true`` the only commands in
the output are our own annotations; ``$GITHUB_OUTPUT`` sets our outputs and nothing else; the job
summary shows the names as text. (That `check` also refuses control characters in names is
another guarantee; these hold whether or not it does.)
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hydro_ci.integrations.github import CommandSafeStream, outputs, write_command, write_outputs

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iris-sklearn"
TOKEN = "tok3n"
HOSTILE = f"feat\\n::stop-commands::{TOKEN}\\r::add-mask::x ##[set-output name=version;]6.6.6 <img src=x> `|"
_LINES = re.compile(r"\r\n|\r|\n")
OURS = re.compile(r"::(error|warning|notice) file=[^,:\r\n]*(,line=\d+,col=\d+)?,title=[a-z0-9-]+::[^\r\n]*")
OUTPUTS = set(outputs({}))  # the Action's outputs, and nothing else may be set


def runner_commands(text: str) -> list[str]:
    """The lines GitHub's runner would take for commands."""
    return [line for line in _LINES.split(text) if line.lstrip().startswith("::") or "##[" in line]


def assert_no_foreign_command(text: str) -> None:
    for line in runner_commands(text):
        assert OURS.fullmatch(line.strip()), f"the runner would run: {line!r}"
        assert TOKEN not in line.split("::")[1]  # an injected token never reaches a command's name


def runner_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner parses it: name=value, or name<<DELIMITER … DELIMITER."""
    lines, out, i = text.split("\n"), {}, 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            out[line[:eq]] = line[eq + 1:]
            continue
        assert heredoc > 0, f"the runner would fail on {line!r}"
        name, delimiter, value = line[:heredoc], line[heredoc + 2:], []
        while lines[i] != delimiter:
            value.append(lines[i])
            i += 1
        i += 1
        out[name] = "\n".join(value)
    return out


@pytest.fixture
def hostile_model(tmp_path: Path) -> Path:
    model = tmp_path / "m"
    shutil.copytree(EXAMPLE, model, ignore=shutil.ignore_patterns(".hydro-ci", "__pycache__"))
    yaml = (model / "serving.yaml").read_text()
    quoted = HOSTILE.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    (model / "serving.yaml").write_text(yaml.replace("    features: {", f'    "{quoted}": {{'))
    return model


def _github(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    outputs, summary = cwd / "gh-output", cwd / "gh-summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HYDRO_CI_REGISTRY"))}
    env.update(GITHUB_ACTIONS="true", CI="true", GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(summary),
               SOURCE_DATE_EPOCH="1700000000")
    raw = subprocess.run([sys.executable, "-m", "hydro_ci", *args], cwd=cwd, env=env, capture_output=True,
                         timeout=300)
    # Decoded by hand: text=True would turn a \r into \n, and the runner sees bytes.
    proc = subprocess.CompletedProcess(raw.args, raw.returncode, raw.stdout.decode(), raw.stderr.decode())
    return proc, outputs, summary


@pytest.mark.parametrize("args", [
    ["contract", "check", "m"], ["contract", "show", "m"], ["contract", "show", "m", "--format", "prototxt"],
    ["contract", "diff", "m/serving.yaml", "old.yaml"], ["version", "next", "m"],
    ["pipeline", "m", "--dry-run"], ["pipeline", "m"],
], ids=lambda a: " ".join(a))
def test_a_hostile_name_starts_no_command(hostile_model: Path, args: list[str]) -> None:
    (hostile_model.parent / "old.yaml").write_text((EXAMPLE / "serving.yaml").read_text())
    proc, outputs, summary = _github(args, hostile_model.parent)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert_no_foreign_command(proc.stdout + proc.stderr)
    if outputs.exists():
        values = runner_outputs(outputs.read_bytes().decode())
        assert set(values) <= OUTPUTS and values.get("version") != "6.6.6"
    if summary.exists():
        md = summary.read_text()
        text = re.sub(r"(`+).*?\1", "", md)  # code spans show their content as text
        assert "<img" not in text and "6.6.6" in md
        table = [line for line in md.splitlines() if line.startswith("| input |")]
        assert len(table) == 1 and table[0].count(" | ") == 4  # the name stayed in its cell


def test_a_folder_named_like_a_command_is_printed_defused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "::warning::x", ignore=shutil.ignore_patterns(".hydro-ci", "__pycache__"))
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"],
                ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "m"]):
        subprocess.run(["git", *cmd], cwd=repo, check=True, capture_output=True)
    proc, outputs, _ = _github(["matrix", "--format", "lines"], repo)
    assert proc.returncode == 0, proc.stderr
    assert "::warning::x" in proc.stdout.replace("%3A", ":")  # still readable
    assert_no_foreign_command(proc.stdout + proc.stderr)
    proc, outputs, _ = _github(["matrix", "--format", "github"], repo)
    assert proc.returncode == 0 and set(runner_outputs(outputs.read_bytes().decode())) == {"matrix", "count"}


def test_the_stream_defuses_every_line_however_it_is_written() -> None:
    inner = io.StringIO()
    stream = CommandSafeStream(inner)  # type: ignore[arg-type]
    for piece in ["ok line\n", ":", ":error::split across writes\n", "a\r::add-mask::b\r\n",
                  "  ::warning::indented\n", "x ##[set-output name=v;]1\n", "no line break at the end ::x"]:
        stream.write(piece)
    write_command(stream, "::error file=a,title=r::ours%0A::not-a-command")  # type: ignore[arg-type]
    stream.close()
    text = inner.getvalue()
    assert runner_commands(text) == ["::error file=a,title=r::ours%0A::not-a-command"]
    assert "%3A:error::split across writes" in text and "no line break at the end ::x" in text


def test_step_outputs_set_only_themselves(tmp_path: Path) -> None:
    path = tmp_path / "out"
    hostile = {"version": "1.0.0\nversion=6.6.6", "image": "a\r\nimage<<EOF\nx\nEOF",
               "tags": "ghadelimiter_1\n",
               "digest": "plain"}
    write_outputs(hostile, path)
    assert runner_outputs(path.read_bytes().decode()) == hostile
