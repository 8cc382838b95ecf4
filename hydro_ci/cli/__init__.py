"""The ``hydro-ci`` command: a thin adapter over the library.

Each verb lives in its own module with ``configure(parser)`` and ``run(args) -> int``. Only the
module of the chosen verb is imported, which keeps ``hydro-ci contract check`` fast to start.
Errors are rendered here, once: ``HydroCIError`` → ``error:``/``hint:`` and its exit code
(1 user-fixable, 2 usage); anything else is a bug → exit 3 with a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NamedTuple

from hydro_ci import __version__
from hydro_ci.errors import HydroCIError, ProblemsError


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


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hydro-ci", description="An ML model folder to a versioned, pushed container image."
    )
    parser.add_argument("--version", action="version", version=f"hydro-ci {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
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


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(args_list).parse_args(args_list)
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
