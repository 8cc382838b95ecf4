"""Declared contract vs the contract read from the model file: a list of problems naming both sides.

Pure: no I/O. The rule set of declared-vs-inferred over the pairing walker (``contract.pairing``):
inputs and outputs are paired by name; dtypes and shapes must agree, where an unknown rank or size
on either side fits anything. Profiles and other metadata are the user's to choose and are never
compared; a declared record is not looked into (model files hold tensors).
"""

from __future__ import annotations

from collections.abc import Callable

from hydro_ci.contract.model import Shape, Signature, shape_text
from hydro_ci.contract.pairing import FieldPair, Key, pair_signature
from hydro_ci.diagnostics import Location, Problem

Locate = Callable[[Key], Location]


def compare_signature(
    declared: Signature,
    inferred: Signature,
    *,
    model: str,
    locate: Locate,
    exact_dtypes: bool = True,
) -> list[Problem]:
    """Problems where ``declared`` disagrees with ``inferred`` (read from the file named ``model``)."""
    problems: list[Problem] = []
    pair = pair_signature(declared, inferred)
    for section, pairs in pair.sections:
        names = ", ".join(repr(f.name) for f in getattr(inferred, section)) or "none"
        # in declared order, then what only the model has
        for p in sorted(pairs, key=lambda p: (p.old is None, p.old_key or ())):
            problems += _field_problems(p, model, names, locate, exact_dtypes)
    return problems


def signature_problem(declared: str, available: list[str], *, model: str, location: Location) -> Problem:
    return Problem(
        location,
        f"declared signature {declared!r} is not in the model: {model} has "
        + ", ".join(repr(n) for n in available),
        "model-signature",
    )


def _field_problems(
    p: FieldPair, model: str, names: str, locate: Locate, exact_dtypes: bool
) -> list[Problem]:
    ours, theirs, side = p.old, p.new, p.side
    if theirs is None:
        assert ours is not None and p.old_key is not None
        return [Problem(locate((*p.old_key, "name")),
                        f"{side} {ours.name!r} is declared but {model} has no such {side} "
                        f"(its {side}s: {names})", "model-field-missing")]
    if ours is None or p.old_key is None:
        return [Problem(locate((p.section,)), f"{model} has {side} {theirs.name!r} ({theirs.describe()}) "
                        "that the declared contract lacks", "model-field-extra")]
    key = p.old_key
    problems = []
    if ours.subfields is not None:
        problems.append(Problem(locate((*key, "field")), f"{side} {ours.name!r}: declared as a record of "
                                f"subfields, {model} has a tensor ({theirs.describe()})", "model-dtype"))
    elif exact_dtypes and ours.dtype != theirs.dtype:
        problems.append(Problem(locate((*key, "dtype")), f"{side} {ours.name!r}: declared dtype "
                                f"{ours.type_text}, {model} has {theirs.type_text}", "model-dtype"))
    if not shapes_compatible(ours.shape, theirs.shape):
        problems.append(Problem(locate((*key, "shape")), f"{side} {ours.name!r}: declared shape "
                                f"{shape_text(ours.shape)}, {model} has {shape_text(theirs.shape)}",
                                "model-shape"))
    return problems


def shapes_compatible(a: Shape, b: Shape) -> bool:
    """Same rank and no two known dims that differ; an unknown rank fits any shape."""
    if a is None or b is None:
        return True
    if len(a) != len(b):
        return False
    return all(x == y or x < 0 or y < 0 for x, y in zip(a, b, strict=True))
