"""Developer sessions: `nox -s tests`, `tests-min`, `tests-upstream`, `lint`, `proto`, `bench`, `fuzz`,
`lock`.

`nox -s tests` is the test command the README and CI use. Every environment a session creates
installs from a lock under `locks/` (exact versions, direct and transitive), so a new upstream
release cannot change a test run; `nox -s lock` regenerates the locks with uv. hydro-ci's own
dependencies stay ranges in pyproject.toml (users' installs must resolve); `tests-min` runs the
suite against the lowest versions those ranges allow, so the ranges stay honest.

Tests that need a Docker engine or a registry use real ones: the test run starts private
registries itself when Debian's `docker-registry` is installed, and uses the engine at
DOCKER_HOST or /var/run/docker.sock (`bash .ci/services.sh` installs and starts both).
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
ROOT = Path(__file__).resolve().parent
LOCKS = ROOT / "locks"
# The one lock of the development environments (tests, lint, bench): made from pyproject.toml's
# `dev` extra and the frameworks the tests compare against.
DEV_LOCK = "locks/dev.txt"
DEV_INPUTS = ("pyproject.toml", "tests/requirements-frameworks.txt")
# The same suite at the lowest versions pyproject.toml allows (its `test` and `keras` extras: h5py
# reads legacy Keras files, no framework).
MIN_LOCK = "locks/min.txt"
# grpcio-tools 1.75.1 bundles the protoc that writes protobuf 6.31.1 gencode: the oldest runtime
# TensorFlow and ONNX accept, so generated code and those frameworks share one protobuf.
PROTO_LOCK = "locks/proto.txt"
PROTO_INPUTS = ("locks/proto.in",)
# Hydrosphere's released hs 3.0.3 and hs 2.4.0, the oracles tests/oracle/ compares with: each lock is
# the whole closure (installed with --no-deps), resolved with overrides for the pins of theirs that do
# not install on Python 3.11.
ORACLE_LOCKS = ("hs3", "hs2")
UV = "uv==0.13.9"  # the locking tool, itself pinned: its output format is part of the lock

# The user-facing sessions (build_model, check_contracts, infer_contract, render) come from the
# library, exactly as a user's noxfile gets them; here they install this checkout. The module
# needs nothing but the standard library, so this checkout is put on the path: `nox -l` works
# with nothing but nox installed.
sys.path.insert(0, str(ROOT))
from hydro_ci.integrations.nox import register_sessions  # noqa: E402 - after the path above

register_sessions(globals(), models=["examples/iris-sklearn"], install=["."],
                  contracts=sorted(glob.glob("examples/*/")))


def _install_dev(session: nox.Session) -> None:
    # pip's own output stays visible: a first install takes minutes (TensorFlow, PyTorch).
    session.install("-e", ".[dev]", "-r", "tests/requirements-frameworks.txt", "-c", DEV_LOCK,
                    silent=False)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (frameworks included: fixtures are checked against their own loaders)."""
    _install_dev(session)
    session.run("pytest", *session.posargs)


@nox.session(name="tests-upstream", python=PYTHON)
def tests_upstream(session: nox.Session) -> None:
    """The suite with the newest versions the ranges allow, no lock (the weekly workflow runs it)."""
    session.install("--upgrade", "-e", ".[dev]", "-r", "tests/requirements-frameworks.txt", silent=False)
    session.run("pip", "freeze", "--exclude-editable")  # what this run tested, for the log
    session.run("pytest", *session.posargs)


@nox.session(name="tests-min", python=PYTHON)
def tests_min(session: nox.Session) -> None:
    """The suite without frameworks, at the lowest versions pyproject.toml's ranges allow."""
    session.install("-e", ".[test,keras]", "-c", MIN_LOCK, silent=False)
    # Neither the frameworks nor Hydrosphere's packages (the oracle, in venvs of its own locks) nor
    # the tests that install hydro-ci into an environment of their own (a fresh venv, pre-commit's,
    # the Action's: pip resolves the newest there) run at the lowest versions: everything else runs.
    session.run("pytest", "-m", "not frameworks and not oracle and not own_env", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy (strict) over the library, tests and this file; import-linter's contracts
    (pyproject.toml [tool.importlinter]: which package may import which)."""
    session.install("-e", ".[dev]", "-c", DEV_LOCK, silent=False)
    session.run("ruff", "check", "hydro_ci", "tests", "benchmarks", "noxfile.py")
    session.run("mypy", "hydro_ci")
    session.run("lint-imports")


@nox.session(python=PYTHON)
def proto(session: nox.Session) -> None:
    """Regenerate hydro_ci/_proto/*_pb2.py from proto/ (checked in; a test fails when stale)."""
    session.install("-r", "locks/proto.in", "-c", PROTO_LOCK)
    sources = sorted(glob.glob("proto/hydro_ci/_proto/*.proto"))
    session.run(
        "python", "-m", "grpc_tools.protoc", "-Iproto", "--python_out=.", "--pyi_out=.", *sources
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run every benchmark under benchmarks/ (or the ones named after --)."""
    _install_dev(session)
    for script in session.posargs or sorted(glob.glob("benchmarks/*.py")):
        session.run("python", script)


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Fuzz every parser of hostile input (tests/security/fuzz.py): prints each target's input count
    and fails on any crash that is not hydro-ci's own error. `nox -s fuzz -- --budget 1000000`; the
    default is 20 000 inputs (HYDRO_CI_FUZZ_BUDGET), about a minute."""
    # Our parsers only (h5py reads legacy Keras files): no framework, so a quick install.
    session.install("-e", ".[test,keras]", "-c", DEV_LOCK, silent=False)
    session.run("python", "-m", "tests.security.fuzz", *session.posargs)


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Regenerate locks/*.txt with uv from the newest versions the inputs allow.

    The output depends only on the inputs and the package index: run twice on an unchanged index,
    it writes the same files. Upgrade everything by running it; pin one package by editing its
    input (pyproject.toml, tests/requirements-frameworks.txt, locks/*.in).
    """
    session.install(UV)
    common = ("--universal", "--python-version", PYTHON, "--quiet")
    compile_ = ("uv", "pip", "compile", *common, "--custom-compile-command", "nox -s lock")
    session.run(*compile_, *session.posargs, *DEV_INPUTS, "--extra", "dev", "-o", DEV_LOCK)
    session.run(*compile_, *session.posargs, "pyproject.toml", "--extra", "test", "--extra", "keras",
                "--resolution", "lowest-direct", "-o", MIN_LOCK)
    session.run(*compile_, *session.posargs, *PROTO_INPUTS, "-o", PROTO_LOCK)
    for name in ORACLE_LOCKS:
        session.run(*compile_, *session.posargs, f"locks/{name}.in", "--override",
                    f"locks/{name}-overrides.txt", "-o", f"locks/{name}.txt")
