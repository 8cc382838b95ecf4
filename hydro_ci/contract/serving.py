"""A model folder on disk → ``FolderRead``: reads serving.yaml and contract.prototxt, runs the rules.

The flow reads top to bottom: read the files (``yamlfile``/``prototxt``; every Model document of a
serving file is a ``Declared`` of its own), read their values (``reader.read_serving``), then apply
each rule given to each Model; ``FolderRead.select`` is the one choice of a Model by name. The caller
chooses the rules: ``infer.check`` (``load_model_folder``, ``check_model_folder``) passes every rule,
the model-file ones included, which need inference and so cannot be named from here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydro_ci.contract import yamlfile
from hydro_ci.contract.reader import Declared, Rule, read_serving
from hydro_ci.diagnostics import Location, Problem, Severity, did_you_mean
from hydro_ci.errors import ProblemsError, UsageError
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


@dataclass
class FolderRead:
    """A model folder as read: every Model document of its serving file, in file order (one for a
    folder of one document or of a contract.prototxt only; none when the files do not read), the
    problems of the files themselves, and each model's own problems (``Declared.problems``)."""

    display: str
    serving: str | None
    models: list[Declared]
    shared: list[Problem]
    documents: int = 1  # documents in the serving file, of every kind

    @property
    def problems(self) -> list[Problem]:
        """Every problem of the folder, each Model's included, sorted by place."""
        return _sorted([*self.shared, *(p for m in self.models for p in m.problems)])

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def select(self, wanted: str | None = None) -> tuple[Declared | None, list[Problem]]:
        """The Model named ``wanted`` (None: the only one) and the problems that concern it: the
        files' own and its own, not another Model's (each document builds an image of its own).
        None when the folder does not read. A folder of several Models without ``wanted``, or a
        ``wanted`` it does not hold, is a usage error naming the choices."""
        if not self.models:
            return None, self.problems
        where = self.serving or self.display
        names = self.names
        if wanted is None:
            if len(self.models) > 1:
                raise several_models_error(where, names)
            chosen = self.models[0]
        else:
            found = [m for m in self.models if m.name == wanted]
            if not found:
                raise UsageError(f"--model {wanted}: {where} has no Model named {wanted!r} "
                                 f"(it has {_quoted(names)}){did_you_mean(wanted, names)}")
            chosen = found[0]
        return chosen, _sorted([*self.shared, *chosen.problems])


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sort_problems(list(dict.fromkeys(problems)))  # one Problem twice (a shared file): once


def several_models_error(where: str, names: Sequence[str]) -> UsageError:
    """A serving file of several Model documents, and no name said which: one line naming them."""
    choices = " or ".join(f"--model {n}" for n in dict.fromkeys(names))
    return UsageError(f"{where} holds {len(names)} Model documents ({_quoted(names)}): "
                      f"name one with {choices}")


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def read_folder(path: Path, rules: Sequence[Rule]) -> FolderRead:
    """Every Model the folder at ``path`` (or holding the file ``path``) declares, each checked by
    ``rules``, and every problem found. A serving file of several Model documents holds several
    models, each built as an image of its own; its payload resolved relative to the folder, as
    ``hs apply`` read each document."""
    folder = folder_of(Path(path))
    shown = display_path(folder)
    if not folder.is_dir():
        missing = Problem(Location(shown), "no such model folder", "no-model-folder")
        return FolderRead(shown, None, [], [missing])
    if not is_model_folder(folder):
        why = not_a_model_folder(folder, f"not a model folder: no {SERVING_FILE} or {PROTOTXT_FILE}")
        return FolderRead(shown, None, [], [Problem(Location(shown), why, "no-model-folder")])
    root = Path(os.path.abspath(folder))  # absolute, so a later chdir cannot break it; links kept
    declared = Declared(root, shown, root.name, Location(shown))
    shared: list[Problem] = []
    readable = True
    count = 1
    models: list[Declared] = []
    serving = serving_file(folder)
    if serving is not None:
        declared.serving = display_path(serving)
        both = [name for name in SERVING_FILES if (folder / name).is_file()]
        if len(both) > 1:
            shared.append(Problem(Location(declared.serving), f"both {' and '.join(both)} are here; keep "
                                  "one (which one is meant cannot be told)", "two-serving-files"))
        try:
            documents = yamlfile.load_all(serving, declared.serving)
        except ProblemsError as exc:
            shared += exc.problems
            readable = False
        else:
            count = sum(node is not None for node, _ in documents)
            found, doc_problems = model_documents(documents, declared.serving)
            shared += doc_problems
            for node in found:
                model = Declared(root, shown, root.name, Location(shown), serving=declared.serving)
                model.problems += read_serving(node, model, declared.serving)
                models.append(model)
            readable = bool(found)
    prototxt = folder / PROTOTXT_FILE
    prototxt_contract = None
    if prototxt.is_file():
        from hydro_ci.contract.prototxt import read_prototxt  # protobuf only when needed: fast start

        try:
            prototxt_contract = read_prototxt(prototxt, display_path(prototxt))
        except ProblemsError as exc:
            shared += exc.problems
    if not models:
        models = [declared]
    for model in models:
        model.siblings = tuple(m.name for m in models if m is not model)
        model.prototxt_contract = model.prototxt_contract or prototxt_contract
        if model.legacy_contract_file is not None:  # hs 0.0.x: serving.yaml names its contract file
            model.problems += _read_legacy_contract(model)
    if not readable:
        unread = [p for m in models for p in m.problems]
        return FolderRead(shown, declared.serving, [], _sorted([*shared, *unread]))
    for model in models:
        for rule in rules:
            model.problems += rule(model)
    shared += _several_models(models)
    return FolderRead(shown, declared.serving, models, shared, count)


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


def model_documents(documents: list[tuple[yamlfile.Node | None, Location]],
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


def _several_models(models: list[Declared]) -> list[Problem]:
    """What several Models of one folder must not share: a name (it names the image, its tags and
    its output folder) and, so that their versions stay apart, a repository and git tags."""
    if len(models) < 2:
        return []
    problems: list[Problem] = []
    by_name: dict[str, Declared] = {}
    by_image: dict[str, Declared] = {}
    for index, model in enumerate(models, 1):
        first = by_name.setdefault(model.name, model)
        if first is not model:
            problems.append(Problem(model.name_location, f"Model {model.name!r} (document {index}) is named "
                                    f"like an earlier one ({first.name_location.render()}); each Model "
                                    "builds an image of its own, named by its name: rename one",
                                    "duplicate-model"))
        image = model.config.get("image")
        if isinstance(image, str) and image:
            other = by_image.setdefault(image, model)
            if other is not model:
                problems.append(Problem(_setting_location(model, "image"), f"Models {other.name!r} and "
                                        f"{model.name!r} both push to {image}: their versions would share "
                                        "its tags; give each its own repository", "bad-setting"))
        version = model.config.get("version")
        tag_format = version.get("tag-format") if isinstance(version, dict) else None
        if isinstance(tag_format, str) and "{name}" not in tag_format:
            problems.append(Problem(_setting_location(model, "version", "tag-format"),
                                    f"tag-format {tag_format!r} has no {{name}}, and this folder holds "
                                    f"{len(models)} Models: their versions would share these git tags; "
                                    "keep {name} in it (the default is {name}-v{version})", "bad-setting"))
    return problems


def _setting_location(model: Declared, *keys: str) -> Location:
    """Where ``hydro-ci: {keys[0]: {keys[1]: …}}`` is written in the model's document."""
    node: yamlfile.Node | None = model.config_node
    for key in keys:
        if not isinstance(node, yamlfile.Mapping):
            break
        pair = next(((k, v) for k, v in node.pairs if isinstance(k, yamlfile.Scalar) and k.text == key), None)
        if pair is None:
            break
        node = pair[1]
    return node.location if node is not None else model.serving_location or model.name_location


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
