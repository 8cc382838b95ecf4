"""``hydro-ci contract migrate``: a folder in an older Hydrosphere format, rewritten to today's.

hs 0.1.x (``model-type``, ``contract: {<signature>: {...}}``), hs 0.0.x (a top-level ``model:``
section naming a v1 contract file) and the v1/v2 ``contract.prototxt`` are read as today's format
already (with a ``legacy-format`` warning); migrating writes what was read: serving.yaml with
today's keys and, where the contract was a prototxt, a v3 ``contract.prototxt``. The image is the
same before and after (tests/contract/test_migrate.py builds both).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydro_ci.contract import formats
from hydro_ci.contract.reader import Declared, Rule
from hydro_ci.contract.serving import read_folder
from hydro_ci.errors import HydroCIError, ProblemsError
from hydro_ci.folder import CONFIG_KEY, PROTOTXT_FILE, SERVING_FILE, serving_file
from hydro_ci.output_files import write_file


@dataclass(frozen=True)
class Migration:
    root: Path
    changes: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # file: (old, new)
    notes: tuple[str, ...] = ()

    def diff(self) -> str:
        """The change as a unified diff, file by file (paths relative to the model folder)."""
        out: list[str] = []
        for name, (old, new) in sorted(self.changes.items()):
            out += difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{name}" if old is not None else "/dev/null",
                                        tofile=f"b/{name}")
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def migrate_folder(path: Path, rules: Sequence[Rule], runtime: str | None = None) -> Migration:
    """What ``path`` becomes in today's format; no change when it already is in it. ``rules``: what
    the folder must pass first (``infer.check.folder_rules()``: every rule of a load).
    ``runtime``: the runtime image to write (hs 0.x chose it from the model type)."""
    read = read_folder(path, rules)
    errors = [p for p in read.problems if p.is_error]
    if errors or not read.models:
        raise ProblemsError(errors or read.problems)
    legacy = [m for m in read.models if m.legacy or (m.prototxt_contract and m.prototxt_contract.legacy)]
    if not legacy:
        return Migration(read.models[0].root)
    if read.documents > 1:  # it rewrites the file from one Model: the other documents would be lost
        raise HydroCIError(f"{read.serving} holds {read.documents} documents; contract migrate rewrites a "
                           "serving file of one document", hint="migrate a copy of the folder holding one "
                           "document at a time, and join the results with ---")
    declared = legacy[0]
    prototxt = declared.prototxt_contract
    notes: list[str] = [w for w in declared.legacy if "signatures" in w]
    if prototxt is not None and prototxt.legacy and "first is built" in prototxt.legacy:
        notes.append(f"{PROTOTXT_FILE}: {prototxt.legacy}; the others are dropped")
    changes: dict[str, tuple[str | None, str]] = {}
    if prototxt is not None:  # the contract stays a file of its own, in today's text
        target = declared.root / PROTOTXT_FILE
        old = target.read_text(encoding="utf-8") if target.is_file() else None
        changes[PROTOTXT_FILE] = (old, formats.to_prototxt(prototxt.signature))
        if declared.legacy_contract_file and declared.legacy_contract_file[0] != PROTOTXT_FILE:
            notes.append(f"the contract now lives in {PROTOTXT_FILE}; {declared.legacy_contract_file[0]} is "
                         "no longer read (remove it when nothing else needs it)")
    serving = serving_file(declared.root)
    if declared.legacy:
        if runtime is None and declared.runtime is None:
            notes.append("no runtime: hs 0.x chose it from the model type; add runtime: (or rerun with "
                         "--runtime REF) before building without --base-image")
        name = serving.name if serving is not None else SERVING_FILE
        old = serving.read_text(encoding="utf-8") if serving is not None else None
        changes[name] = (old, formats.serving_to_yaml(_serving_document(declared, runtime, prototxt is None)))
    return Migration(declared.root, changes, tuple(notes))


def _serving_document(d: Declared, runtime: str | None, with_contract: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "Model", "name": d.name}
    if runtime or d.runtime:
        doc["runtime"] = runtime or d.runtime
    if d.install_command is not None:
        doc["install-command"] = d.install_command
    if d.payload:
        doc["payload"] = [entry for entry, _ in d.payload]
    if with_contract and d.yaml_contract is not None:
        doc["contract"] = formats.signature_to_yaml_dict(d.yaml_contract.signature)
    if d.metadata:
        doc["metadata"] = dict(d.metadata)
    doc.update(d.extra)
    if d.config:
        doc[CONFIG_KEY] = d.config
    return doc


def write_migration(migration: Migration) -> list[Path]:
    """Write every changed file (through a rename in the same folder: a symlink there is replaced,
    never written through); the files written."""
    written = []
    for name, (_, new) in sorted(migration.changes.items()):
        target = migration.root / name
        if target.is_dir():
            raise HydroCIError(f"{target} is a folder; cannot write the migrated {name} there")
        try:
            write_file(target, new, within=migration.root, replace_link=True)
        except OSError as exc:
            raise HydroCIError(f"cannot write {target}: {exc.strerror or exc}") from None
        written.append(target)
    return written
