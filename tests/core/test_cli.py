"""The dispatcher: exit codes, one-line errors, and that a bug is reported as exit 3."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hydro_ci.cli import main


def hydro(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hydro_ci", *args], capture_output=True, text=True)


def test_version_and_help() -> None:
    assert hydro("--version").stdout.startswith("hydro-ci ")
    out = hydro("--help")
    assert out.returncode == 0 and "contract" in out.stdout


def test_unknown_command_is_usage_error() -> None:
    out = hydro("frobnicate")
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_hydro_error_renders_one_line_with_hint(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from hydro_ci.cli import contract_show
    from hydro_ci.errors import HydroCIError

    def boom(args: object) -> int:
        raise HydroCIError("something the user can fix", hint="do this")

    monkeypatch.setattr(contract_show, "run", boom)
    assert main(["contract", "show", "."]) == 1
    assert capsys.readouterr().err == "error: something the user can fix\nhint: do this\n"


def test_bug_is_exit_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from hydro_ci.cli import contract_show

    def boom(args: object) -> int:
        raise ZeroDivisionError("x")

    monkeypatch.setattr(contract_show, "run", boom)
    assert main(["contract", "show", "."]) == 3
    assert "internal error" in capsys.readouterr().err
