"""Located problems: what validation collects instead of stopping at the first error."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column are 1-based, 0 when unknown."""

    path: str
    line: int = 0
    column: int = 0

    def render(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column or 1}"
        return self.path


@dataclass(frozen=True)
class Problem:
    """One finding: where, what, and the id of the rule that found it."""

    location: Location
    message: str
    rule: str
    severity: Severity = Severity.ERROR

    def render(self) -> str:
        return f"{self.location.render()}: {self.severity.value}: {self.message} [{self.rule}]"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR
