"""The one pairing walker of contracts, in the manner of ``buf breaking``: old and new signatures,
fields and subfields paired by name, as a tree of pairs.

Every comparison of two contracts walks this tree: ``contract diff`` (``contract.diff``), declared
vs inferred (``infer.compare``) and serving.yaml vs contract.prototxt (``contract.rules.signature``).
The walker only decides which parts are the same part; each rule set decides what a difference
means. Names are a field's identity (Hydrosphere matches tensors by name). With ``by_position``,
a name only on the old side and a name only on the new side at the same index pair up as a rename.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hydro_ci.contract.model import Contract, Field, Signature

# Where a part of a signature is written: ("inputs", 0, 2, "shape") is the shape of the third
# subfield of the first input; ("signature",) the signature name. The readers key locations so.
Key = tuple[str | int, ...]
SECTIONS = ("inputs", "outputs")


@dataclass(frozen=True)
class FieldPair:
    """One field on either side (None where it is missing) and, for two records, their subfields."""

    section: str  # "inputs" or "outputs"
    old: Field | None
    new: Field | None
    old_key: Key | None  # ("inputs", 0) or ("inputs", 0, 2) for a subfield; None when absent
    new_key: Key | None
    path: str  # "predict.inputs.x.a": the new name where there is one
    top: bool  # an input or output itself, not a subfield
    subfields: tuple[FieldPair, ...] = ()  # paired only when both sides are records

    @property
    def side(self) -> str:
        return self.section[:-1]  # "input" or "output"

    @property
    def name(self) -> str:
        f = self.new or self.old
        assert f is not None
        return f.name

    @property
    def renamed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.name != self.new.name

    @property
    def kind_changed(self) -> bool:
        """A tensor on one side, a record on the other."""
        return (self.old is not None and self.new is not None
                and (self.old.subfields is None) != (self.new.subfields is None))


@dataclass(frozen=True)
class SignaturePair:
    old: Signature | None
    new: Signature | None
    inputs: tuple[FieldPair, ...] = ()
    outputs: tuple[FieldPair, ...] = ()

    @property
    def sections(self) -> tuple[tuple[str, tuple[FieldPair, ...]], ...]:
        return ("inputs", self.inputs), ("outputs", self.outputs)


def pair_names(old: Sequence[str], new: Sequence[str], *, by_position: bool = False
               ) -> list[tuple[int | None, int | None]]:
    """Index pairs: same names (in old order), then renames by position, then removed, then added."""
    first_new: dict[str, int] = {}
    for j, name in enumerate(new):
        first_new.setdefault(name, j)
    old_names = set(old)  # sets: a frame model has thousands of columns
    pairs: list[tuple[int | None, int | None]] = [
        (i, first_new[n]) for i, n in enumerate(old) if n in first_new]
    removed = [i for i, n in enumerate(old) if n not in first_new]
    added = [j for j, n in enumerate(new) if n not in old_names]
    renamed = set(removed) & set(added) if by_position else set()
    pairs += [(i, i) for i in sorted(renamed)]
    pairs += [(i, None) for i in removed if i not in renamed]
    pairs += [(None, j) for j in added if j not in renamed]
    return pairs


def pair_fields(old: Sequence[Field], new: Sequence[Field], *, section: str, prefix: str,
                old_key: Key, new_key: Key, top: bool, by_position: bool = False) -> tuple[FieldPair, ...]:
    pairs = []
    for i, j in pair_names([f.name for f in old], [f.name for f in new], by_position=by_position):
        a = old[i] if i is not None else None
        b = new[j] if j is not None else None
        ka = (*old_key, i) if i is not None else None
        kb = (*new_key, j) if j is not None else None
        name = b.name if b is not None else a.name if a is not None else ""
        path = f"{prefix}.{name}"
        subs: tuple[FieldPair, ...] = ()
        if a is not None and b is not None and a.subfields is not None and b.subfields is not None:
            assert ka is not None and kb is not None
            subs = pair_fields(a.subfields, b.subfields, section=section, prefix=path, old_key=ka,
                               new_key=kb, top=False, by_position=by_position)
        pairs.append(FieldPair(section, a, b, ka, kb, path, top, subs))
    return tuple(pairs)


def pair_signature(old: Signature | None, new: Signature | None, *, by_position: bool = False
                   ) -> SignaturePair:
    """Two signatures, their inputs and outputs paired (nothing to pair when one is missing)."""
    if old is None or new is None:
        return SignaturePair(old, new)
    inputs, outputs = (
        pair_fields(getattr(old, section), getattr(new, section), section=section,
                    prefix=f"{new.name}.{section}", old_key=(section,), new_key=(section,), top=True,
                    by_position=by_position)
        for section in SECTIONS
    )
    return SignaturePair(old, new, inputs, outputs)


def pair_contracts(old: Contract, new: Contract, *, signatures_by_position: bool = False,
                   fields_by_position: bool = False) -> tuple[SignaturePair, ...]:
    """The signatures of two contracts paired by name (by index too with ``signatures_by_position``)."""
    pairs = []
    for i, j in pair_names([s.name for s in old.signatures], [s.name for s in new.signatures],
                           by_position=signatures_by_position):
        a = old.signatures[i] if i is not None else None
        b = new.signatures[j] if j is not None else None
        pairs.append(pair_signature(a, b, by_position=fields_by_position))
    return tuple(pairs)


def walk(pairs: Sequence[FieldPair]) -> list[FieldPair]:
    """Every pair, depth first: a pair, then its subfield pairs."""
    out: list[FieldPair] = []
    for p in pairs:
        out.append(p)
        out += walk(p.subfields)
    return out
