"""Where the contract of another version comes from: a folder, a contract file, a git ref, an image.

``contract diff OLD NEW`` and ``version next --bump auto`` both need "the contract as it was":
- a model folder (its declared contract: serving.yaml and/or contract.prototxt);
- a contract file: ``serving.yaml``, ``contract.prototxt`` or a ``.json`` in hydro-ci's JSON form;
- ``GIT_REF:path`` (either of the above inside a commit), read with ``git show``, never checked out;
- an image reference, whose ``io.hydro-ci.contract`` label holds the contract (read from the
  registry's image config, no layer pulled).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hydro_ci import git
from hydro_ci.contract.jsonform import contract_from_dict
from hydro_ci.contract.model import Contract
from hydro_ci.errors import ContractError, HydroCIError, NotFoundError, UsageError
from hydro_ci.folder import PROTOTXT_FILE, SERVING_FILE

if TYPE_CHECKING:
    from hydro_ci.registry.client import RegistryClient

CONTRACT_LABEL = "io.hydro-ci.contract"  # same as hydro_ci.render.labels.CONTRACT_LABEL


class ContractSourceError(HydroCIError):
    """A contract to compare cannot be found or read."""


def contract_from_json_text(text: str, where: str) -> Contract:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ContractError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ContractError(f"{where}: a contract must be a JSON object")
    # accept the bare contract or an output that wraps it (contract show --format json)
    return contract_from_dict(data.get("contract", data) if "signatures" not in data else data)


def contract_from_folder(path: Path) -> Contract:
    """The declared contract of a model folder (serving.yaml and/or contract.prototxt)."""
    from hydro_ci.contract.serving import load_model_folder

    folder = load_model_folder(path)
    if folder.contract is None:
        raise ContractSourceError(f"{path} declares no contract",
                                  hint="declare it in serving.yaml or contract.prototxt")
    return folder.contract


def contract_from_file(path: Path) -> Contract:
    if path.suffix == ".json":
        return contract_from_json_text(path.read_text(encoding="utf-8"), str(path))
    if path.name == SERVING_FILE or path.suffix in (".yaml", ".yml", ".prototxt", ".pbtxt"):
        return _contract_from_files({path.name: path.read_bytes()}, str(path))
    raise UsageError(f"{path}: not a contract file",
                     hint="give a model folder, serving.yaml, contract.prototxt or a .json contract")


def _contract_from_files(files: dict[str, bytes], where: str) -> Contract:
    """Load the declared contract from serving.yaml/contract.prototxt bytes, via a scratch folder.

    The folder loader is the one reader of these formats; giving it the two files (and nothing else)
    means a contract reads the same from a folder, a commit or a file.
    """
    with tempfile.TemporaryDirectory(prefix="hydro-ci-contract-") as tmp:
        root = Path(tmp)
        for name, data in files.items():
            target = SERVING_FILE if name.endswith((".yaml", ".yml")) else PROTOTXT_FILE
            (root / target).write_bytes(data)
        try:
            return contract_from_folder(root)
        except ContractSourceError:
            raise ContractSourceError(f"{where} declares no contract") from None


def contract_at_git_ref(repo: Path, ref: str, path: str) -> Contract | None:
    """The contract declared at ``path`` (a folder or a contract file) in commit/tag ``ref``.

    None when nothing there declares one; ``path`` is relative to the repository root.
    """
    path = path.strip("/") if path not in ("", ".") else ""
    prefix = f"{path}/" if path else ""
    if path.endswith(".json"):
        data = git.show_file(repo, ref, path)
        return None if data is None else contract_from_json_text(data.decode(), f"{ref}:{path}")
    if path.endswith((".yaml", ".yml", ".prototxt", ".pbtxt")):
        data = git.show_file(repo, ref, path)
        return None if data is None else _contract_from_files({Path(path).name: data}, f"{ref}:{path}")
    files = {name: data for name in (SERVING_FILE, PROTOTXT_FILE)
             if (data := git.show_file(repo, ref, prefix + name)) is not None}
    if not files:
        return None
    try:
        return _contract_from_files(files, f"{ref}:{path or '.'}")
    except ContractSourceError:
        return None


def contract_from_image(client: RegistryClient, repository: str, tag: str) -> Contract | None:
    """The contract in the image's label; None when the image or the label is absent."""
    from hydro_ci.image.reference import ImageReference
    from hydro_ci.image.remote import read_labels

    try:
        labels = read_labels(client, ImageReference(client.registry, repository, tag))
    except NotFoundError:
        return None
    text = labels.get(CONTRACT_LABEL)
    if text is None:
        return None
    return contract_from_json_text(text, f"{client.registry}/{repository}:{tag} label {CONTRACT_LABEL}")


_GIT_SPEC = re.compile(r"^(?P<ref>[^:\s]+):(?P<path>.*)$")


def load_contract(spec: str, *, cwd: Path | None = None, username: str | None = None,
                  password: str | None = None, insecure: bool | None = None) -> tuple[Contract, str]:
    """Resolve a ``contract diff`` argument; returns the contract and what it was read from."""
    cwd = cwd or Path.cwd()
    path = cwd / spec
    if path.is_dir():
        return contract_from_folder(path), f"folder {spec}"
    if path.is_file():
        return contract_from_file(path), f"file {spec}"
    m = _GIT_SPEC.match(spec)
    if m and git.is_work_tree(cwd) and _is_commitish(cwd, m["ref"]):
        repo = git.repo_root(cwd)
        rel = _repo_relative(repo, cwd, m["path"])
        found = contract_at_git_ref(repo, m["ref"], rel)
        if found is None:
            raise ContractSourceError(f"{spec}: no contract at {rel or '.'} in {m['ref']}",
                                      hint="give the model folder or contract file path inside that commit")
        return found, f"git {m['ref']}:{rel or '.'}"
    if _looks_like_image(spec):
        from hydro_ci.image.reference import parse_reference
        from hydro_ci.registry.client import client_for

        ref = parse_reference(spec)
        with client_for(spec, username=username, password=password, insecure=insecure) as client:
            found = contract_from_image(client, ref.repository, ref.reference)
        if found is None:
            raise ContractSourceError(f"{spec}: the image has no {CONTRACT_LABEL} label (or does not exist)",
                                      hint="images built by hydro-ci carry it; compare folders or files")
        return found, f"image {spec}"
    raise UsageError(f"{spec}: no such folder or file, git ref or image",
                     hint="OLD/NEW are a model folder, a contract file, GIT_REF:path or an image reference")


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
