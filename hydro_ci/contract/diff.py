"""Every change between two contracts, classified the way ``buf breaking`` does it.

Pure: contracts in, changes out. Each change has a rule id, a class (breaking → major, additive →
minor, patch) and a reason a reader can act on. The summary is the highest class found; no change at
all is ``patch`` (weights, code or metadata changed, the contract did not).

Callers send inputs and read outputs, so the two directions are mirrored: a caller breaks when an
input starts accepting *less* (narrowed dims, a new required input) or an output starts returning
*more* (widened dims, unknown rank). Names are a field's identity (Hydrosphere matches request
tensors by name); ``renames-by-position`` pairs a removed and an added field at the same index as
one rename instead. A single signature replaced by a single other one is always a rename.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hydro_ci.contract.model import Contract, Field, Shape, Signature
from hydro_ci.errors import HydroCIError


class ChangeClass(enum.IntEnum):
    """How much a change matters to a caller; ordered so ``max`` gives the summary."""

    patch = 0
    additive = 1
    breaking = 2

    @property
    def bump(self) -> str:
        return {ChangeClass.patch: "patch", ChangeClass.additive: "minor",
                ChangeClass.breaking: "major"}[self]


B, A, P = ChangeClass.breaking, ChangeClass.additive, ChangeClass.patch

# rule id → (class, what it means). The table docs/versioning.md documents.
RULES: dict[str, tuple[ChangeClass, str]] = {
    "signature-removed": (B, "a signature callers use is gone"),
    "signature-renamed": (B, "callers address the signature by its old name"),
    "signature-added": (A, "a new signature; existing callers are unaffected"),
    "input-removed": (B, "callers still send an input the model no longer takes"),
    "input-renamed": (B, "callers send the input under its old name"),
    "input-added": (B, "existing callers do not send the new input"),
    "output-removed": (B, "callers read an output that is gone"),
    "output-renamed": (B, "callers read the output under its old name"),
    "output-added": (A, "a new output; existing callers ignore it"),
    "dtype-changed": (B, "values of the old type no longer fit"),
    "rank-changed": (B, "tensors of the old rank no longer fit"),
    "input-rank-narrowed": (B, "the input had any rank, now a fixed one"),
    "input-rank-widened": (A, "the input now accepts any rank"),
    "input-dim-narrowed": (B, "the input accepts fewer sizes in this dimension"),
    "input-dim-widened": (A, "the input now accepts any size in this dimension"),
    "output-rank-widened": (B, "the output may now have any rank"),
    "output-rank-narrowed": (A, "the output's rank is now known"),
    "output-dim-changed": (B, "the output has another fixed size in this dimension"),
    "output-dim-widened": (B, "the output may now have any size in this dimension"),
    "output-dim-narrowed": (A, "the output's size in this dimension is now fixed"),
    "subfield-removed": (B, "a subfield of a record is gone"),
    "subfield-renamed": (B, "a subfield of a record has a new name"),
    "input-subfield-added": (B, "callers do not send the new subfield"),
    "output-subfield-added": (A, "a new subfield in an output record; callers ignore it"),
    "profile-changed": (P, "the data profile is monitoring metadata; calls are unchanged"),
}


class DiffConfigError(HydroCIError):
    """The ``diff:`` settings in serving.yaml are wrong."""


@dataclass(frozen=True)
class DiffConfig:
    """Per-project settings: ``hydro-ci: {diff: {ignore: [rule-id], renames-by-position: bool}}``."""

    ignore: frozenset[str] = frozenset()
    renames_by_position: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DiffConfig:
        """Read the ``diff`` key of a folder's ``hydro-ci:`` section (absent → the defaults)."""
        section = config.get("diff") or {}
        where = "serving.yaml hydro-ci.diff"
        if not isinstance(section, Mapping):
            raise DiffConfigError(f"{where} must be a mapping, got {type(section).__name__}")
        unknown = sorted(set(section) - {"ignore", "renames-by-position"})
        if unknown:
            raise DiffConfigError(f"{where}: unknown key {unknown[0]!r}",
                                  hint="known keys: ignore, renames-by-position")
        ignore = section.get("ignore") or []
        if not isinstance(ignore, list) or not all(isinstance(r, str) for r in ignore):
            raise DiffConfigError(f"{where}.ignore must be a list of rule ids")
        bad = sorted(set(ignore) - set(RULES))
        if bad:
            from hydro_ci.diagnostics import did_you_mean

            raise DiffConfigError(f"{where}.ignore: unknown rule {bad[0]!r}{did_you_mean(bad[0], RULES)}",
                                  hint="rule ids are listed in docs/versioning.md")
        by_position = section.get("renames-by-position", False)
        if not isinstance(by_position, bool):
            raise DiffConfigError(f"{where}.renames-by-position must be true or false")
        return cls(frozenset(ignore), by_position)


@dataclass(frozen=True)
class Change:
    rule: str
    path: str  # signature.inputs.field[.subfield]
    message: str

    @property
    def change_class(self) -> ChangeClass:
        return RULES[self.rule][0]

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "class": self.change_class.name, "path": self.path,
                "message": self.message}

    def render(self) -> str:
        return f"{self.change_class.name:<8}  {self.path}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class ContractDiff:
    changes: tuple[Change, ...] = ()
    ignored: tuple[Change, ...] = field(default=())

    @property
    def summary(self) -> ChangeClass:
        return max((c.change_class for c in self.changes), default=ChangeClass.patch)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary.name,
            "bump": self.summary.bump,
            "changes": [c.to_dict() for c in self.changes],
            "ignored": [c.to_dict() for c in self.ignored],
        }


DEFAULT_CONFIG = DiffConfig()


def diff_contracts(old: Contract, new: Contract, config: DiffConfig = DEFAULT_CONFIG) -> ContractDiff:
    """Every change from ``old`` to ``new``, signatures paired by name."""
    changes: list[Change] = []
    old_names = [s.name for s in old.signatures]
    new_names = [s.name for s in new.signatures]
    pairs = _pair([*old_names], [*new_names],
                  by_position=config.renames_by_position or (len(old_names) == len(new_names) == 1))
    for old_name, new_name in pairs:
        if new_name is None:
            changes.append(Change("signature-removed", old_name or "", "signature removed"))
        elif old_name is None:
            changes.append(Change("signature-added", new_name, "signature added"))
        else:
            if old_name != new_name:
                changes.append(Change("signature-renamed", new_name,
                                      f"signature renamed from {old_name!r} to {new_name!r}"))
            changes += _diff_signature(_sig(old, old_name), _sig(new, new_name), config)
    return _apply(changes, config)


def diff_signatures(old: Signature, new: Signature, config: DiffConfig = DEFAULT_CONFIG) -> ContractDiff:
    """Changes between two single signatures (e.g. the primary ones an image carries)."""
    return diff_contracts(Contract("old", (old,)), Contract("new", (new,)), config)


def _sig(contract: Contract, name: str) -> Signature:
    sig = contract.signature(name)
    assert sig is not None
    return sig


def _apply(changes: Iterable[Change], config: DiffConfig) -> ContractDiff:
    kept = tuple(c for c in changes if c.rule not in config.ignore)
    ignored = tuple(c for c in changes if c.rule in config.ignore)
    return ContractDiff(kept, ignored)


def _pair(old: list[str], new: list[str], *, by_position: bool) -> list[tuple[str | None, str | None]]:
    """Match names; unmatched ones at the same index pair up as renames when ``by_position``."""
    old_names, new_names = set(old), set(new)  # sets: a frame model has thousands of columns
    removed = {i: n for i, n in enumerate(old) if n not in new_names}
    added = {i: n for i, n in enumerate(new) if n not in old_names}
    pairs: list[tuple[str | None, str | None]] = [(n, n) for n in old if n in new_names]
    if by_position:
        for i in sorted(set(removed) & set(added)):
            pairs.append((removed.pop(i), added.pop(i)))
    pairs += [(n, None) for n in removed.values()]
    pairs += [(None, n) for n in added.values()]
    return pairs


def _diff_signature(old: Signature, new: Signature, config: DiffConfig) -> list[Change]:
    prefix = new.name
    return [
        *_diff_fields(old.inputs, new.inputs, f"{prefix}.inputs", "input", config, top=True),
        *_diff_fields(old.outputs, new.outputs, f"{prefix}.outputs", "output", config, top=True),
    ]


def _diff_fields(old: tuple[Field, ...], new: tuple[Field, ...], prefix: str, side: str,
                 config: DiffConfig, *, top: bool) -> list[Change]:
    by_old = {f.name: f for f in old}
    by_new = {f.name: f for f in new}
    changes: list[Change] = []
    kind = side if top else "subfield"
    for old_name, new_name in _pair([f.name for f in old], [f.name for f in new],
                                    by_position=config.renames_by_position):
        path = f"{prefix}.{new_name or old_name}"
        if new_name is None:
            changes.append(Change(f"{kind}-removed", path, f"{kind} {old_name!r} removed"))
        elif old_name is None:
            rule = f"{side}-added" if top else f"{side}-subfield-added"
            changes.append(Change(rule, path, f"{kind} {new_name!r} added"))
        else:
            if old_name != new_name:
                changes.append(Change(f"{kind}-renamed", path,
                                      f"{kind} renamed from {old_name!r} to {new_name!r}"))
            changes += _diff_field(by_old[old_name], by_new[new_name], path, side, config)
    return changes


def _diff_field(old: Field, new: Field, path: str, side: str, config: DiffConfig) -> list[Change]:
    changes: list[Change] = []
    if old.dtype != new.dtype:
        changes.append(Change("dtype-changed", path,
                              f"type changed from {_type_name(old)} to {_type_name(new)}"))
    if (old.subfields is None) != (new.subfields is None):
        return changes  # tensor ↔ record: one change says it; their shapes are not comparable
    changes += _diff_shape(old.shape, new.shape, path, side)
    if old.profile != new.profile:
        changes.append(Change("profile-changed", path,
                              f"profile changed from {old.profile.name} to {new.profile.name}"))
    if old.subfields is not None and new.subfields is not None:
        changes += _diff_fields(old.subfields, new.subfields, path, side, config, top=False)
    return changes


def _type_name(f: Field) -> str:
    return f.dtype.name if f.dtype is not None else "a record (subfields)"


def _shape_text(shape: Shape) -> str:
    if shape is None:
        return "any rank"
    return "scalar" if shape == () else "[" + ", ".join(str(d) for d in shape) + "]"


def _diff_shape(old: Shape, new: Shape, path: str, side: str) -> list[Change]:
    if old == new:
        return []
    what = f"shape changed from {_shape_text(old)} to {_shape_text(new)}"
    if old is None or new is None:
        narrowed = new is not None  # any rank → a fixed rank
        rule = f"{side}-rank-{'narrowed' if narrowed else 'widened'}"
        return [Change(rule, path, what)]
    if len(old) != len(new):
        return [Change("rank-changed", path, what)]
    changes = []
    for i, (o, n) in enumerate(zip(old, new, strict=True)):
        if o == n:
            continue
        detail = f"dimension {i} changed from {o} to {n} ({what})"
        if n == -1:
            rule = f"{side}-dim-widened"
        elif o == -1 and side == "output":
            rule = "output-dim-narrowed"
        elif side == "input":
            rule = "input-dim-narrowed"  # -1 → fixed, or one fixed size to another
        else:
            rule = "output-dim-changed"
        changes.append(Change(rule, path, detail))
    return changes
