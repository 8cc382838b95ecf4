"""hydro-ci's nox sessions, for any noxfile, in one line::

    # noxfile.py
    from hydro_ci.integrations.nox import register_sessions
    register_sessions(globals(), models=["models/iris"])

registers ``build_model`` (the whole pipeline on the folder given after ``--``, default the first
of ``models``), ``check_contracts``, ``infer_contract`` and ``render``. Each session installs
hydro-ci in its own virtualenv (``install``: the pip arguments, default ``hydro-ci``; the hydro-ci
repository itself passes ``.``) and runs the CLI, so a session is exactly the command a CI step or
a person would type. Arguments after ``--`` go to the command: ``nox -s build_model -- models/iris
--image ghcr.io/acme/iris --push``.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from types import ModuleType
from typing import Any

SESSIONS = ("build_model", "check_contracts", "infer_contract", "render")


def _split(posargs: Sequence[str], default: str) -> list[str]:
    """A folder first: the one given, else the default (when only flags were given)."""
    args = list(posargs)
    if not args or args[0].startswith("-"):
        args.insert(0, default)
    return args


def _install(session: Any, install: Sequence[str]) -> None:
    """Install hydro-ci into the session's virtualenv; with ``--no-venv`` use what is installed."""
    if session.venv_backend != "none":
        session.install(*install)


def make_sessions(models: Sequence[str], install: Sequence[str],
                  contracts: Sequence[str] | None = None) -> dict[str, Callable[[Any], None]]:
    """The session functions (plain functions of a nox ``Session``), not yet registered."""
    default = models[0] if models else "."
    checked = list(contracts if contracts is not None else models) or ["."]

    def build_model(session: Any) -> None:
        """Run the pipeline (check → contract → version → render → build → summary) on a model folder."""
        _install(session, install)
        session.run("hydro-ci", "pipeline", *_split(session.posargs, default))

    def check_contracts(session: Any) -> None:
        """Validate every model folder's contract (hydro-ci contract check)."""
        _install(session, install)
        session.run("hydro-ci", "contract", "check", *(session.posargs or checked))

    def infer_contract(session: Any) -> None:
        """Print the contract read from a folder's model files (hydro-ci contract infer)."""
        _install(session, install)
        session.run("hydro-ci", "contract", "infer", *_split(session.posargs, default))

    def render(session: Any) -> None:
        """Write a folder's build context: Dockerfile, payload, contract (hydro-ci render)."""
        _install(session, install)
        session.run("hydro-ci", "render", *_split(session.posargs, default))

    return {"build_model": build_model, "check_contracts": check_contracts,
            "infer_contract": infer_contract, "render": render}


def register_sessions(
    namespace: MutableMapping[str, Any] | ModuleType | None = None,
    *,
    models: Sequence[str] = ("examples/iris-sklearn",),
    install: Sequence[str] = ("hydro-ci",),
    contracts: Sequence[str] | None = None,
    python: str | Sequence[str] | bool | None = None,
    only: Sequence[str] = SESSIONS,
    **session_options: Any,
) -> dict[str, Callable[..., Any]]:
    """Register hydro-ci's sessions with nox and put them into ``namespace`` (a noxfile's globals()).

    ``models``: folders; the first is the default of build_model, infer_contract and render.
    ``contracts``: what check_contracts checks (default: ``models``).
    ``python`` and ``session_options`` go to ``nox.session`` (e.g. ``venv_backend="uv"``).
    A name the noxfile already defines is left alone, so a project can override one session.
    """
    import nox

    registered: dict[str, Callable[..., Any]] = {}
    for name, func in make_sessions(models, install, contracts).items():
        if name not in only:
            continue
        if isinstance(namespace, ModuleType):
            existing = getattr(namespace, name, None)
        else:
            existing = namespace.get(name) if namespace is not None else None
        if existing is not None:
            continue
        session = nox.session(python=python, name=name, **session_options)(func)
        registered[name] = session
        if isinstance(namespace, ModuleType):
            setattr(namespace, name, session)
        elif namespace is not None:
            namespace[name] = session
    return registered
