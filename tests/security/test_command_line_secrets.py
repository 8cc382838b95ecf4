"""A password typed on the command line is never echoed, and no flag is ever guessed from a prefix.

argparse's abbreviations took ``--password`` for ``--password-stdin`` and then printed
``unrecognized arguments: s3cret``; a CI log keeps that line. Every parser has abbreviations off
(walked, not sampled), and whatever follows a password-like flag is shown as ``***``.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from hydro_ci.cli import COMMANDS, build_parser, main, redact

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cret-Qx7"


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c.words))
def test_no_parser_takes_abbreviations(command: object) -> None:
    words = list(command.words)  # type: ignore[attr-defined]
    parsers = _parsers(build_parser(words))  # the command's own options are configured too
    assert len(parsers) > len(COMMANDS)
    assert all(p.allow_abbrev is False for p in parsers), [p.prog for p in parsers if p.allow_abbrev]


def test_every_argument_parser_in_the_source_turns_abbreviations_off() -> None:
    """Parsers outside the CLI (benchmarks, tools) are made with allow_abbrev=False as well."""
    sources = [*(REPO / "hydro_ci").rglob("*.py"), *(REPO / "benchmarks").rglob("*.py"), REPO / "noxfile.py"]
    calls = 0
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                    == "ArgumentParser":
                calls += 1
                kw = {k.arg: k.value for k in node.keywords}
                ours = path == REPO / "hydro_ci" / "cli" / "__init__.py"  # the subclass that sets it
                assert "allow_abbrev" in kw or ours, f"{path}:{node.lineno}: allow_abbrev not set"
                if "allow_abbrev" in kw:
                    assert isinstance(kw["allow_abbrev"], ast.Constant) and kw["allow_abbrev"].value is False
    assert calls >= 6


@pytest.mark.parametrize("argv", [
    ["push", "--image", "127.0.0.1:5001/x", "--version", "1.0.0", "--password", SECRET],
    ["push", "--image", "127.0.0.1:5001/x", "--version", "1.0.0", f"--password={SECRET}"],
    ["pipeline", "m", "--passw", SECRET],
    ["pipeline", "--password", SECRET],
    ["--password", SECRET, "pipeline", "m"],
    ["pipeline", "m", f"--password-stdin={SECRET}"],
    ["pipeline", "m", "--password-stdin", SECRET],
    ["build", "m", "--image", "a/b", "--version", "1", f"--token={SECRET}"],
    ["build", "m", "--image", "a/b", "--version", "1", "--registry-password", SECRET],
    ["push", "--image", "a/b", "--version", "1", "-p", SECRET],
], ids=lambda a: " ".join(a).replace(SECRET, "S"))
def test_a_password_on_the_command_line_is_never_printed(argv: list[str],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "error:" in err and "Traceback" not in err
    assert "--password-stdin" in err  # says how to pass it instead


def test_password_is_not_taken_for_password_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", "--image", "a/b", "--version", "1", "--username", "u", "--password"]) == 2
    assert "unrecognized arguments: --password" in capsys.readouterr().err


def test_other_usage_errors_are_printed_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "m", "--bump", "huge"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: hydro-ci pipeline") and "invalid choice: 'huge'" in err
    assert "hint" not in err


def test_redact() -> None:
    given = ["--token", "a", "--x", "b", "--pass=c", "-p", "d", "--password-stdin", "--username", "u"]
    assert redact(given) == ["--token", "***", "--x", "b", "--pass=***", "-p", "***", "--password-stdin",
                             "--username", "u"]
