"""contract.prototxt: a Hydrosphere v3 ``ModelSignature`` in protobuf text format.

``google.protobuf.text_format`` parses it and locates syntax errors. It does not say where a
parsed value was written, so a small tokenizer records the position of every field (keyed like
``pairing.Key``) for the rules that run after parsing. It also caps nesting before parsing, because
the text-format parser recurses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format

from hydro_ci.contract import proto, yamlfile
from hydro_ci.contract.model import DEFAULT_SIGNATURE, Field, Signature
from hydro_ci.contract.pairing import Key
from hydro_ci.contract.reader import Source
from hydro_ci.diagnostics import Location, Problem, did_you_mean
from hydro_ci.errors import ContractError, ProblemsError

MAX_DEPTH = 64
_REPEATED = ("inputs", "outputs", "data", "signatures")  # message fields that get an index in a Key
_TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
      | (?P<string>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)
      | (?P<word>[A-Za-z0-9_.+-]+)
      | (?P<open>[{<])
      | (?P<close>[}>])
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)
_ERROR_PREFIX = re.compile(r"^\d+:\d+ : (?:'[^\n]*?': )?")
# What `contract infer --write` writes for a 20 000-column frame is ~1.5 MB: it must read back.
MAX_PROTOTXT_BYTES = 16 << 20
_UNKNOWN_FIELD = re.compile(r'has no field named "([^"]*)"')
_FIELD_NAMES = ("signature_name", "inputs", "outputs", "name", "shape", "dims", "subfields", "data",
                "dtype", "profile")


def read_prototxt(path: Path, display: str) -> Source:
    """Read and check ``path``; ``ProblemsError`` when it cannot be parsed."""
    return parse_prototxt(yamlfile.read_text(path, display, max_bytes=MAX_PROTOTXT_BYTES), display)


def parse_prototxt(text: str, display: str) -> Source:
    """Parse the text of a ``ModelSignature``; value problems make the Source ``valid=False``."""
    locations = _positions(text, display)  # raises on hostile nesting before the recursive parser
    msg = proto.ModelSignature()
    try:
        text_format.Parse(text, msg)
    except text_format.ParseError as exc:
        legacy = _legacy(text, display, locations)
        if legacy is not None:
            return legacy
        raise ProblemsError([_parse_problem(exc, display)]) from None
    except (ValueError, TypeError, RecursionError) as exc:  # odd inputs the parser does not wrap
        raise ProblemsError([Problem(Location(display, 1, 1), f"invalid prototxt: {exc}",
                                     "prototxt-syntax")]) from None
    problems: list[Problem] = []
    source = Source(Signature(""), display, locations)
    source.signature = Signature(
        msg.signature_name or DEFAULT_SIGNATURE,
        tuple(_field(f, ("inputs", i), source, problems) for i, f in enumerate(msg.inputs)),
        tuple(_field(f, ("outputs", i), source, problems) for i, f in enumerate(msg.outputs)),
    )
    if problems:
        source.valid = False
        raise ProblemsError(problems)
    return source


# Where an older format's keys sit, in today's terms: the first `signatures` block is the signature
# (`predict {` adds nothing to a key: it is not repeated), and v1's names are today's.
_LEGACY_PREFIXES = (("signatures", 0),)
_V1_NAMES = {"field_name": "name", "tensor_shape": "shape"}


def _legacy(text: str, display: str, positions: dict[Key, Location]) -> Source | None:
    """A contract.prototxt of an older release (hs 2.x, 0.1.x, 0.0.x), read as today's signature."""
    try:
        found = proto.parse_legacy_text(text)
    except ContractError as exc:
        raise ProblemsError([Problem(Location(display, 1, 1), str(exc), "unknown-dtype")]) from None
    if found is None:
        return None
    what, signatures = found
    if not signatures:
        raise ProblemsError([Problem(Location(display, 1, 1), f"{what} without a signature",
                                     "empty-inputs")])
    locations: dict[Key, Location] = {("contract",): Location(display, 1, 1)}
    for key, where in positions.items():
        prefix = next((p for p in _LEGACY_PREFIXES if key[:len(p)] == p), ())
        rest = tuple(_V1_NAMES.get(k, k) if isinstance(k, str) else k for k in key[len(prefix):])
        locations.setdefault(rest or ("contract",), where)
    source = Source(signatures[0], display, locations, legacy=what)
    if len(signatures) > 1:
        source.legacy = f"{what}, with {len(signatures)} signatures of which the first is built"
    return source


def _parse_problem(exc: text_format.ParseError, display: str) -> Problem:
    message = _ERROR_PREFIX.sub("", str(exc))
    where = Location(display, exc.GetLine() or 0, exc.GetColumn() or 0)
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown:
        name = unknown.group(1)
        if name in _FIELD_NAMES:  # a known key in the wrong message: usually a missing '}'
            return Problem(where, f"{name!r} does not belong here; is a '}}' missing before it?",
                           "prototxt-syntax")
        return Problem(where, f"unknown key {name!r}{did_you_mean(name, _FIELD_NAMES)}", "unknown-key")
    return Problem(where, f"invalid prototxt: {message}", "prototxt-syntax")


def _field(msg: proto.ModelField, key: Key, source: Source, problems: list[Problem]) -> Field:
    def report(where: Key, message: str, rule: str) -> None:
        problems.append(Problem(source.locate(where), message, rule))

    return proto.field_from_message(msg, report, key)


@dataclass
class _Frame:
    """An open message while scanning: its key, how often each repeated field appeared, an open list."""

    key: Key
    counters: dict[str, int] = field(default_factory=dict)
    list_of: tuple[str, Location] | None = None  # inside `name: [ ... ]`


def _positions(text: str, display: str) -> dict[Key, Location]:
    """Where each field is written, keyed like ``pairing.Key``; first occurrence wins."""
    out: dict[Key, Location] = {}
    stack = [_Frame(())]
    line, line_start = 1, 0
    pending: tuple[str, Location] | None = None  # a field name still waiting for its value
    for m in _TOKEN.finditer(text):
        kind, value = m.lastgroup, m.group()
        where = Location(display, line, m.start() - line_start + 1)
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = m.start() + value.rfind("\n") + 1
        frame = stack[-1]
        if kind == "space":
            continue
        if kind == "open":
            if len(stack) > MAX_DEPTH:
                raise ProblemsError([Problem(where, f"nested deeper than {MAX_DEPTH} levels",
                                             "prototxt-syntax")])
            owner, child = pending or frame.list_of, frame.key
            if owner is not None and owner[0] in _REPEATED:
                name, at = owner
                index = frame.counters.get(name, 0)
                frame.counters[name] = index + 1
                child = (*frame.key, index) if name == "data" else (*frame.key, name, index)
                out.setdefault((*child, "field"), where if owner is frame.list_of else at)
            stack.append(_Frame(child))
            pending = None
        elif kind == "close":
            if len(stack) > 1:
                stack.pop()
            pending = None
        elif value == "[":
            frame.list_of, pending = pending or ("", where), None
        elif value == "]":
            frame.list_of, pending = None, None
        elif frame.list_of is not None:
            continue  # items of a list: values, not field names
        elif kind == "word" and pending is None:
            out.setdefault((*frame.key, "signature") if value == "signature_name" else (*frame.key, value),
                           where)
            pending = (value, where)
        elif kind in ("word", "string") or value in ",;":
            pending = None
    return out


def to_prototxt(sig: Signature) -> str:
    return text_format.MessageToString(proto.to_message(sig))
