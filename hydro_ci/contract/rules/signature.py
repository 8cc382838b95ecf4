"""Rules on a declared signature (the same for serving.yaml and contract.prototxt), and the rule
that the two declarations agree when a folder has both: the pairing walker's tree, read for its
first difference."""

from __future__ import annotations

from hydro_ci.contract.model import Field, Signature, shape_text
from hydro_ci.contract.pairing import FieldPair, Key, pair_signature
from hydro_ci.contract.reader import DIM_RANGE, MAX_INT64, Declared, Source
from hydro_ci.diagnostics import Problem
from hydro_ci.text import CONTROL_CHARS


def check_signatures(d: Declared) -> list[Problem]:
    return [p for s in (d.yaml_contract, d.prototxt_contract) if s is not None for p in check_signature(s)]


def check_signature(source: Source) -> list[Problem]:
    """Rules on the contract itself, the same for serving.yaml and contract.prototxt."""
    problems = []
    sig = source.signature
    if CONTROL_CHARS.search(sig.name):  # printed in logs and CI annotations, where a newline is a command
        problems.append(Problem(source.locate(("signature",)), f"signature name {sig.name!r} holds a control "
                                "character", "control-character"))
    for section, fields in (("inputs", sig.inputs), ("outputs", sig.outputs)):
        if not fields:
            problems.append(Problem(source.locate((section,)), f"the contract has no {section}",
                                    f"empty-{section}"))
        problems.extend(_check_fields(fields, (section,), source))
    return problems


def _check_fields(fields: tuple[Field, ...], key: Key, source: Source) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for index, f in enumerate(fields):
        here = (*key, index)
        if not f.name:
            problems.append(Problem(source.locate((*here, "name")), "a field has an empty name", "bad-field"))
        elif CONTROL_CHARS.search(f.name):
            problems.append(Problem(source.locate((*here, "name")), f"field name {f.name!r} holds a control "
                                    "character", "control-character"))
        elif f.name in seen:
            problems.append(Problem(source.locate((*here, "name")), f"field {f.name!r} is declared twice",
                                    "duplicate-field"))
        seen.add(f.name)
        bad = [d for d in f.shape or () if d < -1 or d > MAX_INT64]
        if bad:
            problems.append(Problem(source.locate((*here, "shape")), f"shape of {f.name!r}: dimension "
                                    f"{bad[0]} {DIM_RANGE}", "bad-shape"))
        if f.subfields is not None:
            if not f.subfields:
                problems.append(Problem(source.locate((*here, "field")), f"field {f.name!r} has empty "
                                        "subfields", "bad-field"))
            problems.extend(_check_fields(f.subfields, here, source))
    return problems


def check_contract_agreement(d: Declared) -> list[Problem]:
    ours, theirs = d.yaml_contract, d.prototxt_contract
    if ours is None or theirs is None or not (ours.valid and theirs.valid):
        return []
    diff = describe_difference(ours.signature, theirs.signature)
    if diff is None:
        return []
    key_ours, key_theirs, what = diff
    there = theirs.locate(key_theirs).render()
    return [Problem(ours.locate(key_ours), f"contract differs from {there}: {what}", "contract-mismatch")]


def describe_difference(a: Signature, b: Signature) -> tuple[Key, Key, str] | None:
    """The first difference between two signatures, as (where in a, where in b, what); order-blind."""
    if a.name != b.name:
        return ("signature",), ("signature",), f"signature name {a.name!r} here, {b.name!r} there"
    for section, pairs in pair_signature(a, b).sections:
        diff = _first_difference(pairs, (section,), (section,), section[:-1])
        if diff is not None:
            return diff
    return None


def _first_difference(
    pairs: tuple[FieldPair, ...], ka: Key, kb: Key, what: str
) -> tuple[Key, Key, str] | None:
    only_a = [p.old.name for p in pairs if p.old is not None and p.new is None]
    only_b = [p.new.name for p in pairs if p.new is not None and p.old is None]
    if only_a or only_b:
        parts = [f"{', '.join(map(repr, names))} only {side}"
                 for names, side in ((only_a, "here"), (only_b, "there")) if names]
        return ka, kb, f"{what}s: " + "; ".join(parts)
    for p in pairs:  # every pair has both sides now
        f, g, here, there = p.old, p.new, p.old_key, p.new_key
        assert f is not None and g is not None and here is not None and there is not None
        label = f"{what} {f.name!r}"
        if p.kind_changed:
            return here, there, f"{label} is a record on one side only"
        for attr, x, y in (("dtype", f.type_text, g.type_text),
                           ("shape", shape_text(f.shape), shape_text(g.shape)),
                           ("profile", f.profile.name, g.profile.name)):
            if x != y:
                return (*here, attr), (*there, attr), f"{label} has {attr} {x} here, {y} there"
        diff = _first_difference(p.subfields, here, there, f"subfields of {label}")
        if diff is not None:
            return diff
    return None
