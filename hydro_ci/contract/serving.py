"""A model folder on disk → ``Declared``: reads serving.yaml and contract.prototxt, runs the rules.

The flow reads top to bottom: read the files (``yamlfile``/``prototxt``; every Model document of a
serving file), read their values (``reader.read_serving``), then apply each rule given. The caller
chooses the rules: ``infer.check`` (``load_model_folder``, ``check_model_folder``) passes every rule,
the model-file ones included, which need inference and so cannot be named from here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hydro_ci.contract import yamlfile
from hydro_ci.contract.reader import Declared, Rule, read_serving
from hydro_ci.diagnostics import Location, Problem, Severity
from hydro_ci.errors import ProblemsError
from hydro_ci.folder import (
    PROTOTXT_FILE,
    SERVING_FILE,
    SERVING_FILES,
    display_path,
    folder_of,
    is_model_folder,
    not_a_model_folder,
    serving_file,
)


def read_folder(path: Path, rules: Sequence[Rule]) -> tuple[Declared | None, list[Problem]]:
    """What the folder at ``path`` (or holding the file ``path``) declares, None when unreadable,
    and every problem found by reading it and by ``rules``, sorted by place. A serving file with
    several Model documents: each is checked, the one named like the folder (else the first) returned."""
    folder = folder_of(Path(path))
    shown = display_path(folder)
    if not folder.is_dir():
        return None, [Problem(Location(shown), "no such model folder", "no-model-folder")]
    if not is_model_folder(folder):
        why = not_a_model_folder(folder, f"not a model folder: no {SERVING_FILE} or {PROTOTXT_FILE}")
        return None, [Problem(Location(shown), why, "no-model-folder")]
    root = Path(os.path.abspath(folder))  # absolute, so a later chdir cannot break it; links kept
    declared = Declared(root, shown, root.name, Location(shown))
    problems: list[Problem] = []
    readable = True
    models: list[Declared] = []
    serving = serving_file(folder)
    if serving is not None:
        declared.serving = display_path(serving)
        both = [name for name in SERVING_FILES if (folder / name).is_file()]
        if len(both) > 1:
            problems.append(Problem(Location(declared.serving), f"both {' and '.join(both)} are here; keep "
                                    "one (which one is meant cannot be told)", "two-serving-files"))
        try:
            documents = yamlfile.load_all(serving, declared.serving)
        except ProblemsError as exc:
            problems += exc.problems
            readable = False
        else:
            found, doc_problems = _model_documents(documents, declared.serving)
            problems += doc_problems
            for node in found:
                model = Declared(root, shown, root.name, Location(shown), serving=declared.serving)
                problems += read_serving(node, model, declared.serving)
                models.append(model)
            readable = bool(found)
    prototxt = folder / PROTOTXT_FILE
    prototxt_contract = None
    if prototxt.is_file():
        from hydro_ci.contract.prototxt import read_prototxt  # protobuf only when needed: fast start

        try:
            prototxt_contract = read_prototxt(prototxt, display_path(prototxt))
        except ProblemsError as exc:
            problems += exc.problems
    if not models:
        models = [declared]
    for model in models:
        model.prototxt_contract = model.prototxt_contract or prototxt_contract
        if model.legacy_contract_file is not None:  # hs 0.0.x: serving.yaml names its contract file
            problems += _read_legacy_contract(model)
    if readable:
        for model in models:
            for rule in rules:
                problems += rule(model)
        problems += _several_models(models)
    chosen = _chosen(models, root.name)
    return (chosen if readable else None), sort_problems(list(dict.fromkeys(problems)))


def _read_legacy_contract(model: Declared) -> list[Problem]:
    from hydro_ci.contract.prototxt import read_prototxt  # protobuf only when needed: fast start

    assert model.legacy_contract_file is not None
    name, where = model.legacy_contract_file
    path = model.root / name
    if not path.is_file() or not path.resolve().is_relative_to(model.root.resolve()):
        return [Problem(where, f"the contract file {name!r} is not a file in the model folder",
                        "payload-missing")]
    try:
        model.prototxt_contract = read_prototxt(path, display_path(path))
    except ProblemsError as exc:
        return exc.problems
    return []


# Kinds ``hs apply`` created on a cluster besides models: hydro-ci builds images, so it notes them.
OTHER_KINDS = ("Application", "DeploymentConfiguration", "Config", "Runtime", "Environment")


def _model_documents(documents: list[tuple[yamlfile.Node | None, Location]],
                     display: str) -> tuple[list[yamlfile.Node | None], list[Problem]]:
    """The Model documents of a serving file (hs apply reads every ``---`` document, one resource
    each), and a problem for each document that is not one."""
    present = [(node, where) for node, where in documents if node is not None]
    if len(present) <= 1:  # one document: kind is optional, and checked by the reader
        return [node for node, _ in present] or [None], []
    found: list[yamlfile.Node | None] = []
    problems: list[Problem] = []
    for index, (node, _) in enumerate(present, 1):
        kind = _kind_of(node)
        if kind == "Model" or (kind is None and _is_legacy_model(node)):
            found.append(node)
        elif kind in OTHER_KINDS:
            problems.append(Problem(node.location, f"document {index} is a kind: {kind}; hydro-ci builds the "
                                    "Model documents and leaves the others to Hydrosphere's hs apply",
                                    "other-kind", Severity.WARNING))
        else:
            what = f"kind {kind!r}" if kind else "no kind"
            problems.append(Problem(node.location, f"document {index} has {what}; each document of a "
                                    "several-document file needs one (Model, Application, …)", "bad-kind"))
    if not found:
        problems.append(Problem(Location(display, 1, 1), f"{display} has no kind: Model document",
                                "bad-kind"))
    return found, problems


def _kind_of(node: yamlfile.Node) -> str | None:
    if isinstance(node, yamlfile.Mapping):
        for key, value in node.pairs:
            if isinstance(key, yamlfile.Scalar) and key.text == "kind" and isinstance(value, yamlfile.Scalar):
                return value.text
    return None


def _is_legacy_model(node: yamlfile.Node) -> bool:
    """hs 0.0.x's serving.yaml: a top-level ``model:`` section and no kind."""
    return isinstance(node, yamlfile.Mapping) and any(
        isinstance(k, yamlfile.Scalar) and k.text == "model" for k, _ in node.pairs)


def _chosen(models: list[Declared], folder_name: str) -> Declared:
    """The model a folder's image is built from: the one named like the folder, else the first."""
    return next((m for m in models if m.name == folder_name), models[0])


def _several_models(models: list[Declared]) -> list[Problem]:
    if len(models) < 2:
        return []
    chosen = _chosen(models, models[0].root.name)
    names = ", ".join(repr(m.name) for m in models)
    where = chosen.serving_location or chosen.name_location
    return [Problem(where, f"{len(models)} Model documents ({names}): each is checked; a folder builds one "
                    f"image, {chosen.name!r} (named like the folder, else the first); give the others "
                    "folders of their own to build them", "several-models", Severity.WARNING)]


def serving_contract_key(folder: Path) -> Location | None:
    """Where the folder's serving.yaml writes its ``contract:`` key; None when it has none (or the
    file does not parse: ``contract check`` reports that)."""
    serving = serving_file(folder)
    if serving is None:
        return None
    shown = display_path(serving)
    try:
        document = yamlfile.load(serving, shown)
    except ProblemsError:
        return None
    if not isinstance(document, yamlfile.Mapping):
        return None
    for key, _ in document.pairs:
        if isinstance(key, yamlfile.Scalar) and key.text == "contract":
            return key.location
    return None


def sort_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.location, p.rule, p.message))
