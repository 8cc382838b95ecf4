"""hydro-ci's nox sessions, for any noxfile, in one line::

    # noxfile.py
    from hydro_ci.integrations.nox import register_sessions
    register_sessions(globals())

registers ``build_model`` (the whole pipeline), ``check_contracts``, ``infer_contract`` and ``render``.
Each runs on the folder given after ``--``, else on every model: the folders of ``models`` when given,
else those found under the noxfile's directory, once per Model of a serving file that holds several
(``--model NAME``). Each session installs hydro-ci in its own virtualenv
(``install``: pip arguments; default the hydro-ci running this noxfile, see ``default_install``) and
runs the CLI, so a session is exactly the command a CI step or a person would type. Arguments after
``--`` go to the command: ``nox -s build_model -- models/iris --image ghcr.io/acme/iris --push``.

Only the standard library is imported when the noxfile loads: ``nox -l`` works wherever this module
can be imported.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import hydro_ci
from hydro_ci.folder import SERVING_FILES, find_model_folders  # the standard library only, as this module

SESSIONS = ("build_model", "check_contracts", "infer_contract", "render")
DISTRIBUTION = "hydro-ci"
# Flags that name one model's image, version or output: with several folders they would collide.
_ONE_MODEL_FLAGS = ("--image", "--version", "--output", "-o", "--json")


def default_install() -> list[str]:
    """pip arguments that install the hydro-ci running now, so the sessions run the same code.

    A source checkout (this package imported from a folder with pyproject.toml) installs that folder
    (``-e`` when it was installed editable); otherwise what the distribution was installed from, as
    pip recorded it (PEP 610 ``direct_url.json``: a git commit, an archive, a folder); otherwise
    ``hydro-ci==<version>`` from the package index.
    """
    source = Path(hydro_ci.__file__).resolve().parent.parent
    try:
        dist: metadata.Distribution | None = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        dist = None
    direct = _direct_url(dist) if dist is not None else None
    if (source / "pyproject.toml").is_file():
        recorded = direct is not None and "dir_info" in direct and _local_path(direct.get("url")) == source
        editable = recorded and bool((direct or {}).get("dir_info", {}).get("editable"))
        return ["-e", str(source)] if editable else [str(source)]
    if direct is not None:
        return install_from_direct_url(direct)
    return [f"{DISTRIBUTION}=={dist.version if dist is not None else hydro_ci.__version__}"]


def install_from_direct_url(direct: Mapping[str, Any]) -> list[str]:
    """pip arguments for what a PEP 610 ``direct_url.json`` records (a VCS commit, archive or folder)."""
    url = str(direct.get("url") or "")
    subdirectory = direct.get("subdirectory")
    if isinstance(direct.get("vcs_info"), dict):
        vcs = direct["vcs_info"]
        ref = f"{vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id') or vcs.get('requested_revision')}"
    elif isinstance(direct.get("archive_info"), dict):
        hashes = direct["archive_info"].get("hashes") or {}
        ref = url + (f"#sha256={hashes['sha256']}" if "sha256" in hashes else "")
    else:  # dir_info: a local folder
        path = _local_path(url)
        if path is None:
            return [f"{DISTRIBUTION} @ {url}"]
        if subdirectory:
            path = path / str(subdirectory)
        editable = bool((direct.get("dir_info") or {}).get("editable"))
        return ["-e", str(path)] if editable else [str(path)]
    if subdirectory:
        ref += ("&" if "#" in ref else "#") + f"subdirectory={subdirectory}"
    return [f"{DISTRIBUTION} @ {ref}"]


def _direct_url(dist: metadata.Distribution) -> dict[str, Any] | None:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("url"), str) else None


def _local_path(url: object) -> Path | None:
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path)).resolve()


def find_models() -> list[str]:
    """The model folders under the working directory (nox runs sessions in the noxfile's folder)."""
    here = Path.cwd().resolve()
    return [os.path.relpath(folder, here) for folder in find_model_folders(here)]


def _runs(session: Any, models: Sequence[str] | None) -> list[list[str]]:
    """One argument list per command to run: the folder given after ``--``, else one per model: each
    model folder, with ``--model NAME`` for each Model of a serving file that holds several."""
    args = list(session.posargs)
    if args and not args[0].startswith("-"):
        return [args]
    folders = list(models) if models is not None else find_models()
    if not folders:
        session.error(f"no model folder (serving.yaml, serving.yml or contract.prototxt) under {Path.cwd()}; "
                      f"name one: nox -s {session.name} -- path/to/model")
    runs = [[folder, *(["--model", name] if name else [])]
            for folder in folders for name in _model_names(session, folder)]
    clash = next((a for a in args if a.split("=")[0] in _ONE_MODEL_FLAGS), None)
    if clash and len(runs) > 1:
        what = "model folders" if len(runs) == len(folders) else "models"
        session.error(f"{clash} names one model's result, and there are {len(runs)} {what} "
                      f"({', '.join(' '.join(run) for run in runs)}); name the "
                      f"{'folder' if len(runs) == len(folders) else 'model'} first: "
                      f"nox -s {session.name} -- {' '.join(runs[0])} {clash} …")
    return [[*run, *args] for run in runs]


_DOCUMENT_MARKER = re.compile(r"^(---|\.\.\.)(\s|$)")


def _model_names(session: Any, folder: str) -> list[str | None]:
    """The Models of ``folder`` to run on one by one: [None] (the folder's one) unless its serving
    file holds several documents, whose Model names the session's own hydro-ci lists (this process
    imports the standard library only, so it does not read YAML itself)."""
    if not _several_documents(Path(folder)):
        return [None]
    out = session.run("hydro-ci", "contract", "check", "--format", "json", folder, silent=True,
                      success_codes=[0, 1], stderr=None)  # problems: the command itself reports them
    try:
        names = [str(m["name"]) for m in json.loads(str(out)).get("models", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        names = []
    return list(names) if len(names) > 1 else [None]


def _several_documents(folder: Path) -> bool:
    """Whether the folder's serving file may hold several YAML documents: a document marker after
    some content (a second document needs one; a false alarm only costs a listing)."""
    for name in SERVING_FILES:
        try:
            lines = (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        content = False
        for line in lines:
            if _DOCUMENT_MARKER.match(line) and content:
                return True
            content = content or bool(line.strip() and not line.lstrip().startswith("#")
                                      and not _DOCUMENT_MARKER.match(line))
        return False
    return False


def _install(session: Any, install: Sequence[str] | None) -> None:
    """Install hydro-ci into the session's virtualenv; with ``--no-venv`` use what is installed."""
    if session.venv_backend != "none":
        session.install(*(install if install is not None else default_install()))


def make_sessions(models: Sequence[str] | None, install: Sequence[str] | None,
                  contracts: Sequence[str] | None = None) -> dict[str, Callable[[Any], None]]:
    """The session functions (plain functions of a nox ``Session``), not yet registered.

    ``models`` None: the model folders found under the working directory when a session runs.
    """

    def build_model(session: Any) -> None:
        """Run the pipeline (check → contract → version → render → build → summary) on each model folder."""
        _install(session, install)
        for args in _runs(session, models):
            session.run("hydro-ci", "pipeline", *args)

    def check_contracts(session: Any) -> None:
        """Validate every model folder's contract (hydro-ci contract check)."""
        _install(session, install)
        checked = session.posargs or list(contracts if contracts is not None else models or ["."])
        session.run("hydro-ci", "contract", "check", *checked)

    def infer_contract(session: Any) -> None:
        """Print the contract read from each model folder's files (hydro-ci contract infer)."""
        _install(session, install)
        for args in _runs(session, models):
            session.run("hydro-ci", "contract", "infer", *args)

    def render(session: Any) -> None:
        """Write each model folder's build context: Dockerfile, payload, contract (hydro-ci render)."""
        _install(session, install)
        for args in _runs(session, models):
            session.run("hydro-ci", "render", *args)

    return {"build_model": build_model, "check_contracts": check_contracts,
            "infer_contract": infer_contract, "render": render}


def register_sessions(
    namespace: MutableMapping[str, Any] | ModuleType | None = None,
    *,
    models: Sequence[str] | None = None,
    install: Sequence[str] | None = None,
    contracts: Sequence[str] | None = None,
    python: str | Sequence[str] | bool | None = None,
    only: Sequence[str] = SESSIONS,
    **session_options: Any,
) -> dict[str, Callable[..., Any]]:
    """Register hydro-ci's sessions with nox and put them into ``namespace`` (a noxfile's globals()).

    ``models``: the model folders the sessions run on when none is named after ``--`` (default: those
    found under the noxfile's directory when a session runs).
    ``install``: pip arguments installing hydro-ci into each session's virtualenv (default:
    ``default_install()``, the hydro-ci running this noxfile).
    ``contracts``: what check_contracts checks (default: ``models``, else the whole directory).
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
