"""Developer sessions: `nox -s tests`, `nox -s lint`, `nox -s proto`, `nox -s bench`.

`nox -s tests` is the test command the README and CI use. Tests that need a Docker engine or a
registry use the real services `.ci/services.sh` starts (CI runs it first); without them those
tests skip locally and fail in CI.
"""

from __future__ import annotations

import glob

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
# grpcio-tools 1.75.1 bundles the protoc that writes protobuf 6.31.1 gencode: the oldest runtime
# TensorFlow and ONNX accept, so generated code and those frameworks share one protobuf.
PROTO_GENERATOR = "grpcio-tools==1.75.1"

# The user-facing sessions (build_model, check_contracts, infer_contract, render) come from the
# library, exactly as a user's noxfile gets them; here they install this checkout. `nox -s
# build_model` runs the whole pipeline on the bundled example (or on the folder after `--`).
from hydro_ci.integrations.nox import register_sessions  # noqa: E402 - after the constants above

register_sessions(globals(), models=["examples/iris-sklearn"], install=["."],
                  contracts=sorted(glob.glob("examples/*/")))


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (frameworks included: fixtures are checked against their own loaders)."""
    session.install("-e", ".[dev]", "-r", "tests/requirements-frameworks.txt")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy (strict) over the library, tests and this file."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "hydro_ci", "tests", "benchmarks", "noxfile.py")
    session.run("mypy", "hydro_ci")


@nox.session(python=PYTHON)
def proto(session: nox.Session) -> None:
    """Regenerate hydro_ci/_proto/*_pb2.py from proto/ (checked in; a test fails when stale)."""
    session.install(PROTO_GENERATOR)
    sources = sorted(glob.glob("proto/hydro_ci/_proto/*.proto"))
    session.run(
        "python", "-m", "grpc_tools.protoc", "-Iproto", "--python_out=.", "--pyi_out=.", *sources
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run every benchmark under benchmarks/ (or the ones named after --)."""
    session.install("-e", ".[dev]", "-r", "tests/requirements-frameworks.txt")
    for script in session.posargs or sorted(glob.glob("benchmarks/*.py")):
        session.run("python", script)
