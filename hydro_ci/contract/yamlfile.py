"""Safe YAML with a location on every node, and limits that make hostile files harmless.

PyYAML's composer is recursive (a deeply nested file crashes the interpreter) and its constructor
expands aliases (a "billion laughs" file eats all memory). So we compose nodes ourselves from the
parser's event stream, which is flat: depth, expanded size and file size are capped, aliases are
shared (never copied), and every problem becomes a located ``Problem`` inside ``ProblemsError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hydro_ci.diagnostics import Location, Problem
from hydro_ci.errors import ProblemsError

MAX_BYTES = 1 << 20  # a serving.yaml is a few hundred bytes; a megabyte is generous
MAX_DEPTH = 64  # nesting of collections; contracts need < 20
MAX_NODES = 500_000  # after alias expansion: defeats "billion laughs"; a 1 MiB file of 20 000
# fields (a wide data frame) has ~140 000 literal nodes, which must pass

# libyaml when present (fast); the pure-Python parser otherwise. Both emit events iteratively.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
INT_TAG = "tag:yaml.org,2002:int"
BOOL_TAG = "tag:yaml.org,2002:bool"
MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass(eq=False)
class Node:
    """A composed YAML node; ``line``/``column`` are 1-based, ``size`` counts nodes after expansion."""

    location: Location
    tag: str
    size: int = 1
    height: int = 0  # collections nested in it, itself included (a scalar: 0), aliases expanded

    @property
    def kind(self) -> str:
        return "node"


@dataclass(eq=False)
class Scalar(Node):
    text: str = ""  # as written (quotes removed): what names and strings are read from
    value: Any = None  # the resolved Python value (int, float, bool, None, str, …)

    @property
    def kind(self) -> str:
        return "null" if self.tag == NULL_TAG else "scalar"

    @property
    def is_null(self) -> bool:
        return self.tag == NULL_TAG


@dataclass(eq=False)
class Sequence(Node):
    items: list[Node] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "list"


@dataclass(eq=False)
class Mapping(Node):
    pairs: list[tuple[Node, Node]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "mapping"


def short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _problem(path: str, line: int, column: int, message: str, rule: str) -> Problem:
    return Problem(Location(path, line, column), message, rule)


def read_text(path: Path, display: str, *, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, decoded as UTF-8 (a BOM is allowed); ``ProblemsError`` when it cannot be."""
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)  # read() of a bounded size: also safe on /dev/zero
    except OSError as exc:
        raise ProblemsError(
            [_problem(display, 0, 0, f"cannot read: {exc.strerror or exc}", "unreadable")]
        ) from None
    if len(data) > max_bytes:
        raise ProblemsError(
            [_problem(display, 0, 0, f"file is larger than {max_bytes} bytes", "too-large")]
        )
    return decode(data, display)


def decode(data: bytes, display: str) -> str:
    """``data`` as UTF-8 text (a BOM is allowed); ``ProblemsError`` at the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise ProblemsError(
            [
                _problem(
                    display, line, column, f"not valid UTF-8 (byte 0x{bad}); save the file as UTF-8",
                    "encoding",
                )
            ]
        ) from None


def load(path: Path, display: str) -> Node | None:
    """Read and compose ``path``; None for an empty document."""
    return compose(read_text(path, display), display)


def _location(display: str, mark: Any) -> Location:
    return Location(display, mark.line + 1, mark.column + 1)


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _syntax_problem(exc: yaml.YAMLError, text: str, display: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        message = " ".join(p for p in (exc.problem, exc.context) if p) or "invalid YAML"
        if "nesting depth" in message:  # the parser's own limit (PyYAML >= 6.0.2): ours, reworded
            return _problem(display, mark.line + 1, mark.column + 1, _DEPTH_MESSAGE, "yaml-limits")
        if mark.index < len(text) and text[mark.index] == "\t":
            message += " (a tab: YAML indents with spaces only)"
        return _problem(display, mark.line + 1, mark.column + 1, f"invalid YAML: {message}", "yaml-syntax")
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _position(text, min(exc.position, len(text)))
        return _problem(display, line, column, f"invalid YAML: {exc.reason}", "yaml-syntax")
    first = re.sub(r"\s+", " ", str(exc)).strip()
    return _problem(display, 0, 0, f"invalid YAML: {first}", "yaml-syntax")


_DEPTH_MESSAGE = f"nested deeper than {MAX_DEPTH} levels"
_FLOW_INDICATOR = re.compile(r"""[\[\]{}"'#|>]""")
_BLOCK_SCALAR_HEADER = re.compile(r"[|>][0-9+-]{0,2}[ \t]*(?:#[^\n]*)?(?:\r?\n|$)")
def _starts_value(text: str, at: int, in_flow: bool) -> bool:
    """Whether a bracket or quote at ``at`` opens a collection or a quoted scalar.

    In flow context always (plain scalars there cannot hold these characters); in block context
    only where a value starts: at the start of a line, or after "key: ", "- " or "? ", maybe
    behind an anchor or a tag. Each character is looked at a bounded number of times.
    """
    if in_flow:
        return True
    end = at
    while True:
        k = end
        while k > 0 and text[k - 1] in " \t":
            k -= 1
        if k == 0 or text[k - 1] in "\r\n":
            return True
        if k == end:  # glued to the text before it: part of a plain scalar
            return False
        if text[k - 1] in "-:?":
            return True
        word = k
        while word > 0 and text[word - 1] not in " \t\r\n":
            word -= 1
        if text[word] not in "&!":  # not an anchor or a tag in front of the value
            return False
        end = word


def _closing_quote(text: str, quote: str, start: int) -> int:
    """Index just past the quote that closes the scalar opened before ``start``; len(text) if none."""
    i = start
    while (j := text.find(quote, i)) >= 0:
        i = j + 1
        if quote == "'" and text.startswith("''", j):
            i = j + 2  # '' is an escaped quote
            continue
        backslashes = 0
        while quote == '"' and text[j - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return j + 1
    return len(text)


def _end_of_block_scalar(text: str, at: int, body: int) -> int:
    """Where the lines of a literal/folded scalar end: at the first non-blank line indented no
    deeper than the line holding its indicator (at ``at``; its content starts at ``body``)."""
    line_start = text.rfind("\n", 0, at) + 1
    indent = len(text[line_start:at]) - len(text[line_start:at].lstrip(" "))
    i = body
    while i < len(text):
        end = text.find("\n", i)
        end = len(text) if end < 0 else end + 1
        line = text[i:end]
        stripped = line.lstrip(" ")
        if stripped.strip() and len(line) - len(stripped) <= indent:
            return i
        i = end
    return i


def _check_flow_nesting(text: str, display: str) -> None:
    """Refuse flow collections nested deeper than MAX_DEPTH before the parser sees them.

    The scanner looks ahead through open flow collections (``[[[[…`` may still turn out to be a
    key), so no event reaches the composer's depth check until the parser's own limit (if any)
    fails. A scan of the indicators is cheap; it skips quoted scalars and comments and counts only
    brackets that open a collection, so where it is unsure it counts less, never more.
    """
    depth = 0
    i = 0
    while (m := _FLOW_INDICATOR.search(text, i)) is not None:
        at, char = m.start(), m.group()
        i = at + 1
        if char == "#":
            if at == 0 or text[at - 1] in " \t\r\n":
                i = text.find("\n", i)
                if i < 0:
                    return
        elif char in "]}":
            depth = max(depth - 1, 0)
        elif not _starts_value(text, at, depth > 0):
            continue
        elif char in "|>":
            if depth == 0 and (header := _BLOCK_SCALAR_HEADER.match(text, at)):
                i = _end_of_block_scalar(text, at, header.end())
        elif char in "\"'":
            i = _closing_quote(text, char, i)
        else:
            depth += 1
            if depth > MAX_DEPTH:
                line, column = _position(text, at)
                raise ProblemsError([_problem(display, line, column, _DEPTH_MESSAGE, "yaml-limits")])


class _Composer:
    """Builds ``Node`` trees from parser events with bounded depth and expanded size."""

    def __init__(self, text: str, display: str) -> None:
        self.text = text
        self.display = display
        self.anchors: dict[str, Node] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[tuple[Node, str | None]] = []  # open collections and their anchors
        self.pending_key: list[Node | None] = []  # per open mapping: the key awaiting its value
        self.root: Node | None = None
        self.documents = 0
        self.problems: list[Problem] = []
        self.several = False  # compose_all: every document, each root kept in ``roots``
        self.roots: list[tuple[Node | None, Location]] = []

    def fail(self, location: Location, message: str, rule: str) -> ProblemsError:
        return ProblemsError([*self.problems, Problem(location, message, rule)])

    def run(self) -> Node | None:
        try:
            for event in yaml.parse(self.text, Loader=_Loader):
                self.on_event(event)
        except yaml.YAMLError as exc:
            raise ProblemsError([*self.problems, _syntax_problem(exc, self.text, self.display)]) from None
        if self.problems:
            raise ProblemsError(self.problems)
        return self.root

    def on_event(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            self.start_location = _location(self.display, event.end_mark)
            if self.several:
                self.root = None
                self.anchors.clear()  # anchors do not reach across documents
            elif self.documents > 1:
                raise self.fail(
                    _location(self.display, event.start_mark),
                    "more than one YAML document ('---'); a model file holds exactly one",
                    "yaml-syntax",
                )
        elif isinstance(event, yaml.DocumentEndEvent) and self.several:
            self.roots.append((self.root, self.start_location))
        elif isinstance(event, yaml.AliasEvent):
            self.on_alias(event)
        elif isinstance(event, yaml.ScalarEvent):
            self.on_scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            self.on_start(event)
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            self.on_end()

    def on_alias(self, event: Any) -> None:
        where = _location(self.display, event.start_mark)
        if event.anchor in self.open_anchors:
            raise self.fail(where, f"recursive alias *{event.anchor}", "yaml-limits")
        node = self.anchors.get(event.anchor)
        if node is None:
            raise self.fail(where, f"undefined alias *{event.anchor}", "yaml-syntax")
        self.attach(node, where)

    def on_scalar(self, event: Any) -> None:
        where = _location(self.display, event.start_mark)
        tag = event.tag
        if tag is None or tag == "!":
            tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        node = Scalar(where, tag, text=event.value, value=event.value)
        ctor = _constructor.yaml_constructors.get(tag)
        if tag == MERGE_TAG:
            pass  # `<<`: applied when its mapping ends
        elif ctor is None or tag in (_MAP_TAG, _SEQ_TAG):
            self.problems.append(Problem(where, f"unsupported YAML tag {short_tag(tag)}", "yaml-tag"))
        else:
            try:
                node.value = ctor(_constructor, yaml.ScalarNode(tag, event.value))
            # The safe constructors raise many types on odd explicit tags (``!!bool maybe``).
            except (yaml.YAMLError, ValueError, TypeError, OverflowError, AttributeError, LookupError):
                self.problems.append(
                    Problem(where, f"cannot read {event.value[:40]!r} as {short_tag(tag)}", "yaml-tag")
                )
        if event.anchor:
            self.anchors[event.anchor] = node
        self.attach(node)

    def on_start(self, event: Any) -> None:
        where = _location(self.display, event.start_mark)
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(where, _DEPTH_MESSAGE, "yaml-limits")
        is_map = isinstance(event, yaml.MappingStartEvent)
        default = _MAP_TAG if is_map else _SEQ_TAG
        tag = default if event.tag in (None, "!") else event.tag
        if tag != default:
            self.problems.append(Problem(where, f"unsupported YAML tag {short_tag(tag)}", "yaml-tag"))
        node: Node = Mapping(where, tag, height=1) if is_map else Sequence(where, tag, height=1)
        if event.anchor:
            self.anchors[event.anchor] = node
            self.open_anchors.add(event.anchor)
        self.stack.append((node, event.anchor))
        self.pending_key.append(None)

    def on_end(self) -> None:
        node, anchor = self.stack.pop()
        self.pending_key.pop()
        if anchor:
            self.open_anchors.discard(anchor)
        if isinstance(node, Mapping):
            self.merge(node)
        self.attach(node)

    def attach(self, node: Node, where: Location | None = None) -> None:
        if not self.stack:
            self.root = node
            return
        parent, _ = self.stack[-1]
        # An alias brings its node's whole depth along: ten anchors of 60 levels, each holding the
        # previous one, nest 600 deep in a 1.5 KB file; every walker after us may then recurse.
        if len(self.stack) + node.height > MAX_DEPTH:
            raise self.fail(where or node.location, f"nested deeper than {MAX_DEPTH} levels (aliases "
                            "included)", "yaml-limits")
        parent.height = max(parent.height, node.height + 1)
        parent.size += node.size
        if parent.size > MAX_NODES:
            raise self.fail(
                where or node.location,
                f"more than {MAX_NODES} nodes after expanding aliases (an alias bomb?)",
                "yaml-limits",
            )
        if isinstance(parent, Sequence):
            parent.items.append(node)
        elif isinstance(parent, Mapping):
            key = self.pending_key[-1]
            if key is None:
                self.pending_key[-1] = node
            else:
                parent.pairs.append((key, node))
                self.pending_key[-1] = None

    def merge(self, node: Mapping) -> None:
        """Apply ``<<`` merge keys: explicit keys win over merged ones, earlier merges over later."""
        if not any(isinstance(k, Scalar) and k.tag == MERGE_TAG for k, _ in node.pairs):
            return
        explicit = [(k, v) for k, v in node.pairs if not (isinstance(k, Scalar) and k.tag == MERGE_TAG)]
        merged: list[tuple[Node, Node]] = []
        for key, value in node.pairs:
            if not (isinstance(key, Scalar) and key.tag == MERGE_TAG):
                continue
            sources = value.items if isinstance(value, Sequence) else [value]
            for source in sources:
                if not isinstance(source, Mapping):
                    self.problems.append(
                        Problem(source.location, "a merge key (<<) needs a mapping", "yaml-syntax")
                    )
                    continue
                merged.extend(source.pairs)
        seen = {scalar_key(k) for k, _ in explicit}
        out: list[tuple[Node, Node]] = []
        for key, value in merged:
            if scalar_key(key) not in seen:
                seen.add(scalar_key(key))
                out.append((key, value))
        node.pairs = out + explicit
        node.size += sum(k.size + v.size for k, v in out)
        node.height = max([node.height, *(max(k.height, v.height) + 1 for k, v in out)])
        if node.size > MAX_NODES:
            raise self.fail(node.location, f"more than {MAX_NODES} nodes after merging", "yaml-limits")


def scalar_key(node: Node) -> tuple[str, str] | int:
    """A hashable identity for a mapping key: (tag, text) for scalars, the object id otherwise."""
    return (node.tag, node.text) if isinstance(node, Scalar) else id(node)


def compose(text: str, display: str) -> Node | None:
    """Compose ``text`` (one YAML document) into located nodes; ``ProblemsError`` on any problem."""
    _check_flow_nesting(text, display)
    return _Composer(text, display).run()


def compose_all(text: str, display: str) -> list[tuple[Node | None, Location]]:
    """Every document of ``text`` (``---`` separated, as ``yaml.safe_load_all`` reads them), each
    with where it starts; an empty document is None. Limits apply to the file as a whole."""
    _check_flow_nesting(text, display)  # as compose: before the parser's own 1 000-level limit
    composer = _Composer(text, display)
    composer.several = True
    composer.run()
    return composer.roots


def load_all(path: Path, display: str) -> list[tuple[Node | None, Location]]:
    """Read and compose every document of ``path``."""
    return compose_all(read_text(path, display), display)


def to_python(node: Node | None) -> Any:
    """Plain Python data (dict/list/scalars) for sections we carry without interpreting.

    Safe because composition already bounded the expanded size. Non-scalar keys become their text.
    """
    if node is None:
        return None
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Sequence):
        return [to_python(item) for item in node.items]
    assert isinstance(node, Mapping)
    out: dict[Any, Any] = {}
    for key, value in node.pairs:
        k = key.value if isinstance(key, Scalar) else str(to_python(key))
        try:
            hash(k)
        except TypeError:
            k = str(k)
        out[k] = to_python(value)
    return out
