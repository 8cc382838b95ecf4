"""Hypothesis strategies for valid contracts (unique non-empty names per level, legal shapes)."""

from __future__ import annotations

from hypothesis import strategies as st

from hydro_ci.contract.model import Contract, DType, Field, Profile, Signature

# Any text except surrogates (not encodable as UTF-8, so not in a protobuf string either) and control
# characters (C0, C1, U+2028/9: a name holding one is refused, rule control-character).
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cc",), exclude_characters="\u2028\u2029"),
                min_size=1, max_size=12)
shapes = st.none() | st.lists(st.integers(-1, 2**63 - 1), max_size=5).map(tuple)


def _fields(children: st.SearchStrategy[tuple[Field, ...]] | None) -> st.SearchStrategy[tuple[Field, ...]]:
    def build(n: list[str], data: st.DataObject) -> tuple[Field, ...]:
        out = []
        for name in n:
            shape = data.draw(shapes)
            profile = data.draw(st.sampled_from(Profile))
            if children is not None and data.draw(st.booleans()):
                out.append(Field(name, shape=shape, profile=profile, subfields=data.draw(children)))
            else:
                out.append(Field(name, dtype=data.draw(st.sampled_from(DType)), shape=shape, profile=profile))
        return tuple(out)

    return st.builds(build, st.lists(names, min_size=1, max_size=4, unique=True), st.data())


field_lists = _fields(_fields(_fields(None)))
signatures = st.builds(Signature, names, field_lists, field_lists)
contracts = st.builds(Contract, names, st.lists(signatures, min_size=1, max_size=3).map(tuple))
