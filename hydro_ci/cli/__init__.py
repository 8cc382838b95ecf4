"""The ``hydro-ci`` command: a thin adapter over the library.

Each verb lives in its own module with ``configure(parser)`` and ``run(args) -> int``. Only the
module of the chosen verb is imported, which keeps ``hydro-ci contract check`` fast to start.
Errors are rendered here, once: ``HydroCIError`` → ``error:``/``hint:`` and its exit code
(1 user-fixable, 2 usage); anything else is a bug → exit 3 with a traceback. SIGTERM (what
``timeout``, a cancelled CI job and ``docker stop`` send) is turned into the same exception as
Ctrl-C, so every clean-up that an interrupt runs (half a build context, an upload under way) runs
for it too.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple, NoReturn

from hydro_ci import __version__
from hydro_ci.errors import HydroCIError, ProblemsError
from hydro_ci.integrations.github import command_safe_output


class Command(NamedTuple):
    words: tuple[str, ...]
    module: str
    help: str


# One row per verb. Groups ("contract", "version") are made from the first word.
COMMANDS: tuple[Command, ...] = (
    Command(("contract", "check"), "hydro_ci.cli.contract_check", "validate model folders"),
    Command(("contract", "show"), "hydro_ci.cli.contract_show", "print the declared contract"),
    Command(("contract", "infer"), "hydro_ci.cli.contract_infer",
            "read the contract from the model files (no framework needed)"),
    Command(("contract", "migrate"), "hydro_ci.cli.contract_migrate",
            "rewrite a folder of an older Hydrosphere format to today's (prints the diff; --write saves)"),
    Command(("contract", "verify"), "hydro_ci.cli.contract_verify",
            "run the model once with its framework and check its outputs against the contract"),
    Command(("render",), "hydro_ci.cli.render", "write the build context (Dockerfile, payload, contract)"),
    Command(("build",), "hydro_ci.cli.build", "render and build the image (docker engine or daemonless)"),
    Command(("push",), "hydro_ci.cli.push", "push a built image (from the engine, or an OCI layout)"),
    Command(("contract", "diff"), "hydro_ci.cli.contract_diff", "classify contract changes by rule"),
    Command(("version", "next"), "hydro_ci.cli.version", "the next semantic version, why, and its tags"),
    Command(("pipeline",), "hydro_ci.cli.pipeline",
            "the whole job: check, contract, version, render, build, push, summary"),
    Command(("matrix",), "hydro_ci.cli.matrix", "model folders changed since a git ref, as a CI matrix"),
    Command(("verify",), "hydro_ci.cli.verify",
            "check an image's signature and provenance, and rebuild it to compare digests"),
    Command(("contract", "breaking"), "hydro_ci.cli.contract_breaking",
            "fail on a breaking contract change against a git ref (pre-commit hook)"),
)

GROUP_HELP = {
    "contract": "check, show, infer and compare model contracts",
    "version": "compute the next semantic version",
}


def _chosen(argv: Sequence[str]) -> Command | None:
    """The command whose words start the non-option arguments, if any."""
    words = [a for a in argv if not a.startswith("-")]
    for cmd in COMMANDS:
        if tuple(words[: len(cmd.words)]) == cmd.words:
            return cmd
    return None


class ArgumentsError(Exception):
    """The command line does not parse; ``main`` prints it (redacted) as argparse would."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser, self.message = parser, message


class ArgumentParser(argparse.ArgumentParser):
    """argparse without abbreviations, raising instead of printing.

    An abbreviation would take ``--password s3cret`` for ``--password-stdin`` (and then echo
    ``s3cret`` as an unrecognized argument); raising lets ``main`` redact what follows a
    password-like flag before anything is printed. Sub-parsers are made of this class too.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        raise ArgumentsError(self, message)


# A flag whose name says it carries a secret: what follows it is never printed.
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred")


def _secret_flag(arg: str) -> bool:
    if not arg.startswith("-"):
        return False
    name = arg.lstrip("-").split("=", 1)[0].lower()
    return name == "p" or any(w in name for w in _SECRET_WORDS)


def redact(argv: Sequence[str]) -> list[str]:
    """``argv`` with the value of every password-like flag (``--password=X``, ``--token X``) as ***."""
    out = list(argv)
    for i, arg in enumerate(argv):
        if not _secret_flag(arg):
            continue
        if "=" in arg:
            out[i] = arg.split("=", 1)[0] + "=***"
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            out[i + 1] = "***"
    return out


def _usage_error(exc: ArgumentsError, argv: list[str]) -> int:
    """Print a parse error as argparse does, from the redacted command line when a secret is in it."""
    shown = redact(argv)
    if shown != argv:
        try:  # the same error, with *** where the secret was: parse the redacted line again
            build_parser(shown).parse_args(shown)
            exc = ArgumentsError(exc.parser, "invalid arguments (not shown: one follows a secret-like flag)")
        except ArgumentsError as redacted:
            exc = redacted
    exc.parser.print_usage(sys.stderr)
    print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
    if shown != argv:
        print("hint: a password is never taken from the command line: pipe it into --password-stdin "
              "(with --username), or use docker login", file=sys.stderr)
    return 2


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="hydro-ci", description="An ML model folder to a versioned, pushed container image."
    )
    parser.add_argument("--version", action="version", version=f"hydro-ci {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction[ArgumentParser]] = {}
    chosen = _chosen(argv)
    for cmd in COMMANDS:
        if len(cmd.words) == 1:
            sub = top.add_parser(cmd.words[0], help=cmd.help, description=cmd.help)
        else:
            group, verb = cmd.words
            if group not in groups:
                gp = top.add_parser(group, help=GROUP_HELP.get(group, ""))
                groups[group] = gp.add_subparsers(dest="verb", metavar="VERB", required=True)
            sub = groups[group].add_parser(verb, help=cmd.help, description=cmd.help)
        sub.set_defaults(_command=cmd)
        if cmd is chosen:
            importlib.import_module(cmd.module).configure(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: a KeyboardInterrupt, so the clean-ups written for Ctrl-C run for it too."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into ``Terminated`` while a command runs (unless the parent asked for it to be
    ignored, or main() runs outside the main thread, where no handler can be set)."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:
        previous = None
    try:
        yield
    finally:
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    # Under GitHub Actions no line we print becomes a workflow command (integrations.github).
    with command_safe_output(os.environ), _sigterm_as_interrupt():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = build_parser(args_list).parse_args(args_list)
        except ArgumentsError as exc:
            return _usage_error(exc, args_list)
        module = importlib.import_module(args._command.module)
        return int(module.run(args))
    except ProblemsError as exc:  # already located lines (``path:line:col: error: …``): all of them
        for line in [p.render() for p in exc.problems] or [f"error: {exc}"]:
            print(line, file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except HydroCIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("error: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        if exc.errno not in _ENVIRONMENT or exc.filename is None:
            return _bug()
        # A read-only folder, a full disk, a name too long for the file system: the machine's state,
        # not a bug; where the write is our own code's, it says so itself with a better hint.
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        print("hint: hydro-ci writes under the working directory (.hydro-ci/, dist/) and, unless told "
              "otherwise (--output), the model folder's .hydro-ci/: run it where it may write",
              file=sys.stderr)
        return 1
    except Exception:  # noqa: BLE001 - the one place a bug is turned into exit 3
        return _bug()


# OS errors that describe the machine (permissions, space, file system limits), not hydro-ci.
_ENVIRONMENT = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                          errno.ENAMETOOLONG, errno.EMFILE, errno.ENFILE})


def _bug() -> int:
    print("hydro-ci: internal error (a bug in hydro-ci); please report it with this:", file=sys.stderr)
    traceback.print_exc()
    return 3
