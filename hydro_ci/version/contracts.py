"""Where the contract of another version comes from: a folder, a contract file, a git ref, an image.

``contract diff OLD NEW`` and ``version next --bump auto`` both need "the contract as it was":
- a model folder (its declared contract: serving.yaml and/or contract.prototxt);
- a contract file: ``serving.yaml``, ``contract.prototxt`` or a ``.json`` in hydro-ci's JSON form;
- ``GIT_REF:path`` (either of the above inside a commit), read with ``git show``, never checked out;
- an image reference, whose ``io.hydro-ci.contract`` label holds the contract (read from the
  registry's image config, no layer pulled).
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from hydro_ci import git
from hydro_ci.contract import yamlfile
from hydro_ci.contract.formats import from_json, read_contract_section
from hydro_ci.contract.jsonform import CONTRACT_LABEL
from hydro_ci.contract.model import Contract
from hydro_ci.contract.prototxt import parse_prototxt
from hydro_ci.contract.rules.signature import check_signature
from hydro_ci.contract.serving import model_documents, read_folder, several_models_error
from hydro_ci.errors import HydroCIError, ModelFileError, NotFoundError, ProblemsError, UsageError
from hydro_ci.folder import PROTOTXT_FILE, SERVING_FILE, SERVING_FILES, is_model_folder
from hydro_ci.image.remote import read_labels
from hydro_ci.infer import folder_contract, infer_folder, infer_model
from hydro_ci.infer.check import load_model_folder
from hydro_ci.reference import ImageReference, parse_reference
from hydro_ci.registry.client import RegistryClient, client_for
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain

MAX_CONTRACT_FILE = 64 << 20


class ContractSourceError(HydroCIError):
    """A contract to compare cannot be found or read."""


def contract_from_json_text(text: str, where: str) -> Contract:
    return from_json(text, where)


def contract_from_folder(path: Path, model: str | None = None) -> Contract:
    """The contract of a model folder (of its Model named ``model`` when its serving file holds
    several): declared (serving.yaml and/or contract.prototxt), else read from its model files, as
    the image built from it would carry."""
    return folder_contract(load_model_folder(path, model=model))


def contract_from_file(path: Path, display: str | None = None, model: str | None = None) -> Contract:
    """The contract in a serving.yaml, contract.prototxt or .json file (``display``: its name for
    messages, as the user wrote it; ``model``: the Model document of a serving file of several)."""
    shown = display or str(path)
    if path.suffix not in (".json", ".yaml", ".yml", ".prototxt", ".pbtxt"):
        raise UsageError(f"{shown}: not a contract file",
                         hint="give a model folder, serving.yaml, contract.prototxt or a .json contract")
    # bounded (a contract of a 100k-column frame is a few MB, not more), located encoding errors
    text = yamlfile.read_text(path, shown, max_bytes=MAX_CONTRACT_FILE)
    if path.suffix == ".json":
        return contract_from_json_text(text, shown)
    found = _contract_from_texts({path.name: text}, shown, model, Path(os.path.abspath(path)).parent.name)
    if found is None:
        of = f" for Model {model!r}" if model else ""
        raise ContractSourceError(f"{shown} declares no contract{of}",
                                  hint="add a contract: section, or compare the model folder")
    return found


def _contract_from_files(files: dict[str, bytes], where: str, model: str | None,
                         folder_name: str) -> Contract | None:
    return _contract_from_texts(
        {file: yamlfile.decode(data, _display(where, file)) for file, data in files.items()}, where, model,
        folder_name)


def _display(where: str, file: str) -> str:
    return f"{where}/{file}" if not where.endswith(file) else where


def _contract_from_texts(files: dict[str, str], where: str, model: str | None = None,
                         folder_name: str = "") -> Contract | None:
    """The contract declared by serving.yaml and/or contract.prototxt texts (prototxt first: the
    folder loader makes the two agree, and the prototxt is the exact v3 signature), checked by the
    same rules as a folder's (an empty contract.prototxt is an error, not a contract without fields).
    A serving file of several Model documents: the one named ``model`` (None when it has none: a
    Model added since), paired by name as the folder loader names them (no name: ``folder_name``);
    without ``model``, a usage error naming them."""
    name, signature = None, None
    for file, text in files.items():
        display = _display(where, file)
        if file.endswith((".yaml", ".yml")):
            root = _model_document(text, display, model, folder_name)
            if root is None:  # no such Model there (not at that commit)
                continue
            pairs: list[tuple[yamlfile.Node, yamlfile.Node]] = [
                (k, v) for k, v in root.pairs if isinstance(k, yamlfile.Scalar) and k.text == "contract"]
            name = next((v.text for k, v in root.pairs if isinstance(k, yamlfile.Scalar)
                         and k.text == "name" and isinstance(v, yamlfile.Scalar)), None)
            if pairs and signature is None:
                only = yamlfile.Mapping(location=root.location, tag=root.tag, pairs=pairs)
                signature = read_contract_section(only, display).signature
        else:
            source = parse_prototxt(text, display)
            if problems := check_signature(source):
                raise ProblemsError(problems)
            signature = source.signature
    if signature is None:
        return None
    return Contract(name or Path(where).stem, (signature,))


def _model_document(text: str, display: str, model: str | None,
                    folder_name: str) -> yamlfile.Mapping | None:
    """The Model document of a serving file's text named ``model``; a file of one Model document
    gives that one whatever its name then (a model renamed since); None: its only one."""
    nodes, _ = model_documents(yamlfile.compose_all(text, display), display)
    docs = [node for node in nodes if isinstance(node, yamlfile.Mapping)]
    names = [_name_of(doc) or folder_name for doc in docs]
    if len(docs) <= 1:
        return docs[0] if docs else None
    if model is None:
        raise several_models_error(display, names)
    return next((doc for doc, name in zip(docs, names, strict=True) if name == model), None)


def _name_of(doc: yamlfile.Mapping) -> str | None:
    return next((v.text for k, v in doc.pairs if isinstance(k, yamlfile.Scalar) and k.text == "name"
                 and isinstance(v, yamlfile.Scalar)), None)


def contract_at_git_ref(repo: Path, ref: str, path: str, model: str | None = None) -> Contract | None:
    """The contract declared at ``path`` (a folder or a contract file) in commit/tag ``ref``; of
    the Model named ``model`` when its serving file holds several (paired by name).

    None when nothing there declares one; ``path`` is relative to the repository root.
    """
    path = path.strip("/") if path not in ("", ".") else ""
    prefix = f"{path}/" if path else ""
    if path.endswith(".json"):
        data = git.show_file(repo, ref, path)
        where = f"{ref}:{path}"
        return None if data is None else contract_from_json_text(yamlfile.decode(data, where), where)
    if path.endswith((".yaml", ".yml", ".prototxt", ".pbtxt")):
        data = git.show_file(repo, ref, path)
        return None if data is None else _contract_from_files({Path(path).name: data}, f"{ref}:{path}", model,
                                                              PurePosixPath(path).parent.name)
    # contract.prototxt last, so it wins over serving.yaml's section (the name comes from serving.yaml);
    # serving.yml only where there is no serving.yaml, as the folder loader reads them
    files = {name: data for name in (*SERVING_FILES, PROTOTXT_FILE)
             if (data := git.show_file(repo, ref, prefix + name)) is not None}
    if SERVING_FILE in files:
        files.pop(SERVING_FILES[1], None)
    folder_name = PurePosixPath(path).name or repo.resolve().name
    return _contract_from_files(files, f"{ref}:{path or '.'}", model, folder_name) if files else None


def inferred_contract_at_git_ref(repo: Path, ref: str, path: str,
                                 model: str | None = None) -> Contract | None:
    """The contract read from the model files of ``path`` at ``ref`` (for folders that declare none);
    of the Model named ``model``'s payload when the serving file there holds several.

    ``git archive`` streams that one folder of the commit into a scratch directory (no checkout of
    the work tree); None when there is no model file to read there (or only a Git LFS pointer).
    """

    proc = git.run_git(["archive", "--format=tar", ref, "--", path or "."], repo, check=False)
    if proc.returncode != 0:
        return None
    with tempfile.TemporaryDirectory(prefix="hydro-ci-archive-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        folder = Path(tmp) / path
        try:
            if model is not None and is_model_folder(folder):
                models = read_folder(folder, ()).models
                chosen = next((m for m in models if m.name == model), None)
                if len(models) > 1:
                    return None if chosen is None else infer_model(chosen.model_folder()).contract
            return infer_folder(folder).contract
        except ModelFileError:
            return None


def contract_from_image(client: RegistryClient, repository: str, tag: str) -> Contract | None:
    """The contract in the image's label; None when the image or the label is absent."""
    try:
        labels = read_labels(client, ImageReference(client.registry, repository, tag))
    except NotFoundError:
        return None
    text = labels.get(CONTRACT_LABEL)
    if text is None:
        return None
    return contract_from_json_text(text, f"{client.registry}/{repository}:{tag} label {CONTRACT_LABEL}")


_GIT_SPEC = re.compile(r"^(?P<ref>[^:\s]+):(?P<path>.*)$")


def load_contract(spec: str, *, cwd: Path | None = None, keychain: Keychain = DEFAULT_KEYCHAIN,
                  insecure: bool | None = None, model: str | None = None) -> tuple[Contract, str]:
    """Resolve a ``contract diff`` argument; returns the contract and what it was read from.
    ``model``: the Model document of a serving file of several (a folder, a file, at a git ref)."""
    cwd = cwd or Path.cwd()
    path = cwd / spec
    if path.is_dir():
        return contract_from_folder(path, model), f"folder {spec}"
    if path.is_file():
        return contract_from_file(path, spec, model), f"file {spec}"
    m = _GIT_SPEC.match(spec)
    # GIT_REF:path first when the ref exists (HEAD:models/x looks like a registry host:port too)
    if m and (not _looks_like_image(spec) or is_git_ref(cwd, m["ref"])):
        repo = _git_ref_repo(spec, m["ref"], cwd)
        rel = _repo_relative(repo, cwd, m["path"])
        found = contract_at_git_ref(repo, m["ref"], rel, model)
        if found is None and not rel.endswith((".json", ".yaml", ".yml", ".prototxt", ".pbtxt")):
            # a folder that declares nothing: its model files, as for a folder in the work tree
            found = inferred_contract_at_git_ref(repo, m["ref"], rel, model)
        if found is None:
            of = f" for Model {model!r}" if model else ""
            raise ContractSourceError(f"{spec}: no contract{of} at {rel or '.'} in {m['ref']}",
                                      hint="give the model folder or contract file path inside that commit")
        return found, f"git {m['ref']}:{rel or '.'}"
    if _looks_like_image(spec):
        try:
            ref = parse_reference(spec)
        except HydroCIError:
            if m:  # not an image after all: say what is wrong with it as GIT_REF:path
                _git_ref_repo(spec, m["ref"], cwd)
            raise
        with client_for(spec, keychain, insecure=insecure) as client:
            found = contract_from_image(client, ref.repository, ref.reference)
        if found is None:
            raise ContractSourceError(f"{spec}: the image has no {CONTRACT_LABEL} label (or does not exist)",
                                      hint="images built by hydro-ci carry it; compare folders or files")
        return found, f"image {spec}"
    raise UsageError(f"{spec}: no such folder or file, git ref or image",
                     hint="OLD/NEW are a model folder, a contract file, GIT_REF:path or an image reference")


def _git_ref_repo(spec: str, ref: str, cwd: Path) -> Path:
    """The repository ``GIT_REF:path`` is read from; a usage error saying which part is wrong."""
    hint = "OLD/NEW are a model folder, a contract file, GIT_REF:path or an image reference"
    if not git.is_work_tree(cwd):
        raise UsageError(f"{spec}: no such folder or file, and {cwd} is not inside a git work tree "
                         "to read GIT_REF:path from", hint=hint)
    if ref.startswith("-") or not _is_commitish(cwd, ref):  # '-…' would be read as an option
        has_commits = git.head_commit(cwd) is not None
        raise UsageError(f"{spec}: {ref!r} is not a commit, branch or tag of this repository"
                         + ("" if has_commits else " (it has no commits yet)"),
                         hint="check the name (git tag -l, git log), or fetch it: git fetch --tags")
    return git.repo_root(cwd)


def is_git_ref(cwd: Path, ref: str) -> bool:
    """``ref`` names a commit (hash, branch, tag, ``HEAD~1``) of the repository around ``cwd``."""
    return not ref.startswith("-") and git.is_work_tree(cwd) and _is_commitish(cwd, ref)


def _is_commitish(cwd: Path, ref: str) -> bool:
    return git.run_git(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], cwd, check=False).returncode == 0


def _repo_relative(repo: Path, cwd: Path, path: str) -> str:
    """``path`` as git sees it: relative to the repository root (given relative to ``cwd``)."""
    if path.startswith("/"):
        return path.lstrip("/")
    full = (cwd.resolve() / path).resolve() if path else cwd.resolve()
    try:
        rel = full.relative_to(repo.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{path} is outside the repository {repo}") from None
    return "" if rel == "." else rel


def _looks_like_image(spec: str) -> bool:
    first = spec.split("/", 1)[0]
    return "/" in spec and ("." in first or ":" in first or first == "localhost")
