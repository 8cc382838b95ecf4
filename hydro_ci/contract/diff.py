"""Every change between two contracts, classified the way ``buf breaking`` does it.

Pure: contracts in, changes out. Each change has a rule id, a class (breaking → major, additive →
minor, patch) and a reason a reader can act on. The summary is the highest class found; no change at
all is ``patch`` (weights, code or metadata changed, the contract did not).

Callers send inputs and read outputs, so the two directions are mirrored: a caller breaks when an
input starts accepting *less* (narrowed dims, a new required input) or an output starts returning
*more* (widened dims, unknown rank). Names are a field's identity (Hydrosphere matches request
tensors by name); ``renames-by-position`` pairs a removed and an added field at the same index as
one rename instead. A single signature replaced by a single other one is always a rename. The
pairing is ``contract.pairing``'s (the walker every comparison shares); this module is its rules.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hydro_ci.contract.model import Contract, Shape, Signature, shape_text
from hydro_ci.contract.pairing import FieldPair, pair_contracts, walk
from hydro_ci.diagnostics import did_you_mean
from hydro_ci.errors import HydroCIError


class ChangeClass(enum.IntEnum):
    """How much a change matters to a caller; ordered so ``max`` gives the summary."""

    patch = 0
    additive = 1
    breaking = 2

    @property
    def bump(self) -> str:
        """The semver step this class asks for; the step taken also follows the 0.x rule
        (``version.bump.bump_version``: breaking on 0.x is a minor step)."""
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
            "changes": [c.to_dict() for c in self.changes],
            "ignored": [c.to_dict() for c in self.ignored],
        }


DEFAULT_CONFIG = DiffConfig()


def diff_contracts(old: Contract, new: Contract, config: DiffConfig = DEFAULT_CONFIG) -> ContractDiff:
    """Every change from ``old`` to ``new``: the pairing walker's tree, read by the rules above."""
    single = len(old.signatures) == len(new.signatures) == 1  # one replaced by one: a rename
    pairs = pair_contracts(old, new, signatures_by_position=config.renames_by_position or single,
                           fields_by_position=config.renames_by_position)
    changes: list[Change] = []
    for pair in pairs:
        if pair.new is None:
            assert pair.old is not None
            changes.append(Change("signature-removed", pair.old.name, "signature removed"))
        elif pair.old is None:
            changes.append(Change("signature-added", pair.new.name, "signature added"))
        else:
            if pair.old.name != pair.new.name:
                changes.append(Change("signature-renamed", pair.new.name,
                                      f"signature renamed from {pair.old.name!r} to {pair.new.name!r}"))
            for field_pair in walk([*pair.inputs, *pair.outputs]):
                changes += _field_changes(field_pair)
    return _apply(changes, config)


def diff_signatures(old: Signature, new: Signature, config: DiffConfig = DEFAULT_CONFIG) -> ContractDiff:
    """Changes between two single signatures (e.g. the primary ones an image carries)."""
    return diff_contracts(Contract("old", (old,)), Contract("new", (new,)), config)


def _apply(changes: Iterable[Change], config: DiffConfig) -> ContractDiff:
    kept = tuple(c for c in changes if c.rule not in config.ignore)
    ignored = tuple(c for c in changes if c.rule in config.ignore)
    return ContractDiff(kept, ignored)


def _field_changes(pair: FieldPair) -> list[Change]:
    """The changes of one pair of fields (its subfields are pairs of their own)."""
    kind, path, old, new = pair.side if pair.top else "subfield", pair.path, pair.old, pair.new
    if new is None:
        assert old is not None
        return [Change(f"{kind}-removed", path, f"{kind} {old.name!r} removed")]
    if old is None:
        rule = f"{pair.side}-added" if pair.top else f"{pair.side}-subfield-added"
        return [Change(rule, path, f"{kind} {new.name!r} added")]
    changes: list[Change] = []
    if pair.renamed:
        changes.append(Change(f"{kind}-renamed", path, f"{kind} renamed from {old.name!r} to {new.name!r}"))
    if old.dtype != new.dtype:
        changes.append(Change("dtype-changed", path, f"type changed from {old.type_text} to {new.type_text}"))
    if pair.kind_changed:
        return changes  # tensor ↔ record: one change says it; their shapes are not comparable
    changes += _shape_changes(old.shape, new.shape, path, pair.side)
    if old.profile != new.profile:
        changes.append(Change("profile-changed", path,
                              f"profile changed from {old.profile.name} to {new.profile.name}"))
    return changes


def _shape_changes(old: Shape, new: Shape, path: str, side: str) -> list[Change]:
    if old == new:
        return []
    what = f"shape changed from {shape_text(old)} to {shape_text(new)}"
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
