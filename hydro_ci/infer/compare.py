"""Declared contract vs the contract read from the model file: a list of problems naming both sides.

Pure: no I/O. Profiles and other metadata are the user's to choose and are never compared.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from hydro_ci.contract.model import Field, Shape, Signature
from hydro_ci.diagnostics import Location, Problem

Side = str  # "input" or "output"
# Where a part of the declared contract is written: ("inputs", 0, "dtype"), ("outputs",), ("signature",)
Key = tuple[str | int, ...]
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
    for side, ours, theirs in (("input", declared.inputs, inferred.inputs),
                               ("output", declared.outputs, inferred.outputs)):
        problems += _compare_fields(side, ours, theirs, model, locate, exact_dtypes)
    return problems


def signature_problem(declared: str, available: list[str], *, model: str, location: Location) -> Problem:
    return Problem(
        location,
        f"declared signature {declared!r} is not in the model: {model} has "
        + ", ".join(repr(n) for n in available),
        "model-signature",
    )


def _compare_fields(
    side: Side,
    declared: tuple[Field, ...],
    inferred: tuple[Field, ...],
    model: str,
    locate: Locate,
    exact_dtypes: bool,
) -> list[Problem]:
    problems: list[Problem] = []
    theirs = {f.name: f for f in inferred}
    ours = {f.name: f for f in declared}
    model_names = ", ".join(repr(n) for n in theirs) or "none"
    section = side + "s"
    for index, f in enumerate(declared):
        other = theirs.get(f.name)
        if other is None:
            problems.append(Problem(
                locate((section, index, "name")),
                f"{side} {f.name!r} is declared but {model} has no such {side} (its {side}s: {model_names})",
                "model-field-missing",
            ))
            continue
        problems += _compare_field(side, f, other, model, partial(_part, locate, section, index),
                                   exact_dtypes)
    for f in inferred:
        if f.name not in ours:
            problems.append(Problem(
                locate((section,)),
                f"{model} has {side} {f.name!r} ({_describe(f)}) that the declared contract lacks",
                "model-field-extra",
            ))
    return problems


def _part(locate: Locate, section: str, index: int, part: str) -> Location:
    return locate((section, index, part))


def _compare_field(
    side: Side, ours: Field, theirs: Field, model: str, locate: Callable[[str], Location],
    exact_dtypes: bool,
) -> list[Problem]:
    problems = []
    if ours.subfields is not None:
        problems.append(Problem(
            locate("field"),
            f"{side} {ours.name!r}: declared as a record of subfields, {model} has a tensor "
            f"({_describe(theirs)})",
            "model-dtype",
        ))
    elif exact_dtypes and ours.dtype != theirs.dtype:
        problems.append(Problem(
            locate("dtype"),
            f"{side} {ours.name!r}: declared dtype {_dtype(ours)}, {model} has {_dtype(theirs)}",
            "model-dtype",
        ))
    if not shapes_compatible(ours.shape, theirs.shape):
        problems.append(Problem(
            locate("shape"),
            f"{side} {ours.name!r}: declared shape {render_shape(ours.shape)}, "
            f"{model} has {render_shape(theirs.shape)}",
            "model-shape",
        ))
    return problems


def shapes_compatible(a: Shape, b: Shape) -> bool:
    """Same rank and no two known dims that differ; an unknown rank fits any shape."""
    if a is None or b is None:
        return True
    if len(a) != len(b):
        return False
    return all(x == y or x < 0 or y < 0 for x, y in zip(a, b, strict=True))


def render_shape(shape: Shape) -> str:
    if shape is None:
        return "dynamic"
    if shape == ():
        return "scalar"
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _dtype(f: Field) -> str:
    return f.dtype.name if f.dtype is not None else "record"


def _describe(f: Field) -> str:
    return f"{_dtype(f)} {render_shape(f.shape)}"
