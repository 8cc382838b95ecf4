"""``.dockerignore`` matching exactly as the docker SDK does it, in time linear in the path.

The docker SDK (``docker/utils/build.py`` PatternMatcher, ``docker/utils/fnmatch.py``) lowercases a
pattern and a path, turns the pattern into a regular expression (``*`` → ``[^/]*``, ``**`` →
``(.*/)?``, or ``.*`` at the end, ``?`` → ``[^/]``, ``[…]`` a class, anything else literal) and lets
Python's backtracking engine run it. Each wildcard is a loop, and loops that can share characters
backtrack into each other: forty stars in a row (``(.*/)?`` twenty times) against a path twenty
folders deep ran for minutes. A ``.hydroignore`` comes from a pull request, so here the same
expression runs as a Thompson NFA over a bit set — one bit per position in the pattern, one step
per character of the path — which costs O(len(path) * len(pattern) / 64) whatever the pattern. A
pattern with at most one wildcard cannot backtrack more than linearly: it still runs as the compiled
expression, at C speed (most patterns: ``*.csv``, ``**/__pycache__``, ``data/``). Only the matching
is ours; which path is tested against which pattern (the parent-folder rule, ``!`` exceptions, the
last match winning, ``!.dockerignore`` appended) is the SDK's ``PatternMatcher.matches``, line for
line. ``tests/contract/test_dockerignore.py`` holds both halves to the SDK's own answers.
"""

from __future__ import annotations

import enum
import os
import re
import warnings
from dataclasses import dataclass, field


class _Kind(enum.Enum):
    LIT = "lit"  # one character, itself
    ONE = "one"  # ? : one character but /
    CLASS = "class"  # [...]: one character of a class
    STAR = "star"  # * : [^/]*
    DIRS = "dirs"  # ** (not last): (.*/)?
    ALL = "all"  # ** at the end: .*


_LOOPS = (_Kind.STAR, _Kind.DIRS, _Kind.ALL)


def _tokens(pat: str) -> list[tuple[_Kind, str]]:
    """``pat`` as docker.utils.fnmatch.translate reads it, token by token (its code, kept in step)."""
    out: list[tuple[_Kind, str]] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        i += 1
        if c == "*":
            if i < n and pat[i] == "*":
                i += 1
                if i < n and pat[i] == "/":  # **/ reads as **
                    i += 1
                out.append((_Kind.ALL if i >= n else _Kind.DIRS, ""))
            else:
                out.append((_Kind.STAR, ""))
        elif c == "?":
            out.append((_Kind.ONE, ""))
        elif c == "[":
            j = i
            if j < n and pat[j] == "!":
                j += 1
            if j < n and pat[j] == "]":
                j += 1
            while j < n and pat[j] != "]":
                j += 1
            if j >= n:
                out.append((_Kind.LIT, "["))
            else:
                stuff = pat[i:j].replace("\\", "\\\\")
                i = j + 1
                if stuff[0] == "!":
                    stuff = "^" + stuff[1:]
                elif stuff[0] == "^":
                    stuff = "\\" + stuff
                out.append((_Kind.CLASS, stuff))
        else:
            out.append((_Kind.LIT, c))
    return out


def _collapsed(tokens: list[tuple[_Kind, str]]) -> list[tuple[_Kind, str]]:
    """The same language with fewer loops: ``(.*/)?(.*/)?`` is ``(.*/)?``, ``[^/]*[^/]*`` is ``[^/]*``
    and ``(.*/)?.*`` is ``.*`` (a run of stars leaves at most two loops; empty moves stay short)."""
    out: list[tuple[_Kind, str]] = []
    for token in tokens:
        if out and token[0] in _LOOPS and (
                out[-1][0] is token[0] or (out[-1][0] is _Kind.DIRS and token[0] is _Kind.ALL)):
            out[-1] = token
            continue
        out.append(token)
    return out


_REGEX = {_Kind.ONE: "[^/]", _Kind.STAR: "[^/]*", _Kind.DIRS: "(.*/)?", _Kind.ALL: ".*"}


def translate(pat: str) -> str:
    """The regular expression the SDK makes of ``pat`` (the same string: a test compares them)."""
    return _regex(_tokens(pat))


def _regex(tokens: list[tuple[_Kind, str]]) -> str:
    return "^" + "".join(re.escape(v) if k is _Kind.LIT else f"[{v}]" if k is _Kind.CLASS else _REGEX[k]
                         for k, v in tokens) + "$"


def _compile(regex: str) -> re.Pattern[str]:
    with warnings.catch_warnings():  # "[[" reads as a possible nested set: the SDK's FutureWarning
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(regex)


class MatchBudgetError(ValueError):
    """Matching a folder against its patterns took more steps than ``Budget`` allows."""


@dataclass
class Budget:
    """NFA steps (one per character per pattern) a matcher may take, over every path it is asked
    about: linear is not cheap when a folder brings thousands of long paths and patterns."""

    steps: int = 20_000_000  # about 5 s here; an ordinary folder takes thousands (most patterns: none)

    def spend(self, n: int) -> None:
        self.steps -= n
        if self.steps < 0:
            raise MatchBudgetError("its patterns take too many steps to match against this folder")


@dataclass
class Glob:
    """One lowercased pattern, matched against a lowercased path as the SDK's ``fnmatch`` would.
    Raises ``re.error`` where the SDK would (a class such as ``[z-a]``)."""

    pattern: str
    budget: Budget = field(default_factory=Budget)
    _regex: re.Pattern[str] | None = None  # matched against the whole path
    _basename: bool = False  # _regex is matched against the part after the last "/" (see below)
    # The NFA: node kinds; per character, the nodes that consume it (advance) and that loop on it.
    _nodes: list[tuple[str, re.Pattern[str] | str | None]] = field(default_factory=list)
    _masks: dict[str, tuple[int, int]] = field(default_factory=dict)
    _eps1: int = 0  # nodes with an empty move to the next node
    _eps3: int = 0  # nodes with an empty move three on (past an optional (.*/) group)
    # What comes before the first wildcard and after the last: one character each, a quick test first.
    _ends: tuple[re.Pattern[str], int, re.Pattern[str], int] | None = None

    def __post_init__(self) -> None:
        _compile(translate(self.pattern))  # every class compiles, or re.error as the SDK raises
        tokens = _collapsed(_tokens(self.pattern))
        loops = sum(k in _LOOPS for k, _ in tokens)
        if loops <= 1:
            # one loop backtracks at most linearly: the engine is safe, and fast
            self._regex = _compile(_regex(tokens))
        elif loops == 2 and tokens[0][0] is _Kind.DIRS and self._within_a_name(tokens[1:]):
            # "**/*.pyc": (.*/)?R where R never matches "/" takes the last "/" or none, so R alone
            # decides, on the name after it (and ".*/" before it holds no newline)
            self._regex, self._basename = _compile(_regex(tokens[1:])), True
        else:
            self._build_nfa(tokens)

    @staticmethod
    def _within_a_name(tokens: list[tuple[_Kind, str]]) -> bool:
        """Whether no token can match "/" (so the part matched lies within one name)."""
        return all(k in (_Kind.ONE, _Kind.STAR) or (k is _Kind.LIT and v != "/")
                   or (k is _Kind.CLASS and _compile(f"[{v}]").match("/") is None) for k, v in tokens)

    def _build_nfa(self, tokens: list[tuple[_Kind, str]]) -> None:
        loops = [i for i, (k, _) in enumerate(tokens) if k in _LOOPS]
        head, tail = tokens[: loops[0]], tokens[loops[-1] + 1:]
        self._ends = (_compile(_regex(head)[1:-1]), len(head), _compile(_regex(tail)[1:-1]), len(tail))
        for kind, value in tokens:
            bit = 1 << len(self._nodes)
            if kind is _Kind.LIT:
                self._nodes.append(("lit", value))
            elif kind is _Kind.ONE:
                self._nodes.append(("not", "/"))
            elif kind is _Kind.CLASS:
                self._nodes.append(("class", _compile(f"[{value}]")))
            elif kind is _Kind.STAR:
                self._eps1 |= bit
                self._nodes.append(("loop-not", "/"))
            elif kind is _Kind.ALL:
                self._eps1 |= bit
                self._nodes.append(("loop-not", "\n"))  # "." is anything but a newline
            else:  # (.*/)? : an entry (empty moves into the loop, or past the group), ".*", then "/"
                self._eps1 |= bit | bit << 1
                self._eps3 |= bit
                self._nodes += [("entry", None), ("loop-not", "\n"), ("lit", "/")]

    def match(self, path: str) -> bool:
        if self._regex is not None:
            if not self._basename:
                return self._regex.match(path) is not None
            cut = path.rfind("/")
            return (cut < 0 or "\n" not in path[:cut]) and self._regex.match(path[cut + 1:]) is not None
        # "$" matches at the end, and before a newline that ends the path
        return self._whole(path) or (path.endswith("\n") and self._whole(path[:-1]))

    def _whole(self, path: str) -> bool:
        """Whether the NFA takes all of ``path``: one step per character, all states at once (after
        the quick test the regular expression engine also makes: the fixed start and end)."""
        assert self._ends is not None
        head, h, tail, t = self._ends
        if len(path) < h + t or not head.fullmatch(path[:h]) or not tail.fullmatch(path[len(path) - t:]):
            return False
        self.budget.spend((len(path) + 1) * (1 + len(self._nodes) // 512))  # a step costs more on wide sets
        state = self._closure(1)
        for c in path:
            advance, loop = self._masks.get(c) or self._masks_for(c)
            state = self._closure(((state & advance) << 1) | (state & loop))
            if not state:
                return False
        return bool(state >> len(self._nodes))

    def _closure(self, state: int) -> int:
        while True:
            more = state | ((state & self._eps1) << 1) | ((state & self._eps3) << 3)
            if more == state:
                return state
            state = more

    def _masks_for(self, c: str) -> tuple[int, int]:
        advance = loop = 0
        for i, (kind, value) in enumerate(self._nodes):
            if kind == "lit":
                advance |= (c == value) << i
            elif kind == "not":
                advance |= (c != value) << i
            elif kind == "class":
                assert isinstance(value, re.Pattern)
                advance |= (value.match(c) is not None) << i
            elif kind == "loop-not":
                loop |= (c != value) << i
        if len(self._masks) < 4096:  # names are mostly ASCII; a hostile one cannot grow this forever
            self._masks[c] = (advance, loop)
        return advance, loop


def split_path(p: str) -> list[str]:
    """docker.utils.build.split_path on POSIX."""
    return [pt for pt in p.split("/") if pt and pt != "."]


@dataclass
class Pattern:
    """docker.utils.build.Pattern: a line of the ignore file, normalised (``.`` and ``..`` folded)."""

    exclusion: bool
    dirs: list[str]
    cleaned_pattern: str
    glob: Glob

    @classmethod
    def parse(cls, line: str, budget: Budget | None = None) -> Pattern:
        exclusion = line.startswith("!")
        split = split_path((line[1:] if exclusion else line).strip())
        i = 0
        while i < len(split):
            if split[i] == "..":
                del split[i]
                if i > 0:
                    del split[i - 1]
                    i -= 1
            else:
                i += 1
        cleaned = "/".join(split)
        return cls(exclusion, split, cleaned, Glob(cleaned.lower(), budget or Budget()))

    def match(self, filepath: str) -> bool:
        return self.glob.match(filepath.lower())


class PatternMatcher:
    """docker.utils.build.PatternMatcher.matches, with ``Glob`` matching; MatchBudgetError when the
    patterns' NFA steps over every path asked about exceed the budget."""

    def __init__(self, patterns: list[str], budget: Budget | None = None) -> None:
        shared = budget or Budget()  # one for every pattern: the whole folder's matching is bounded
        self.patterns = [p for p in (Pattern.parse(line, shared) for line in patterns) if p.dirs]
        self.patterns.append(Pattern.parse("!.dockerignore", shared))

    def matches(self, filepath: str) -> bool:
        matched = False
        parent_path = os.path.dirname(filepath)
        parent_path_dirs = split_path(parent_path)
        for pattern in self.patterns:
            match = pattern.match(filepath)
            if not match and parent_path != "" and len(pattern.dirs) <= len(parent_path_dirs):
                match = pattern.match("/".join(parent_path_dirs[: len(pattern.dirs)]))
            if match:
                matched = not pattern.exclusion
        return matched
