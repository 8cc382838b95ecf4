"""hydro_ci.contract.dockerignore answers exactly as the docker SDK's matcher, without its backtracking.

The SDK (docker.utils.build, docker.utils.fnmatch) is the oracle: on short inputs, where its
backtracking is harmless, every pattern and path Hypothesis draws gets the same answer (and the same
re.error) from both; the regular expression text is the SDK's own.
"""

from __future__ import annotations

import re
import time
import warnings

import pytest
from docker.utils import build as sdk_build
from docker.utils import fnmatch as sdk_fnmatch
from hypothesis import given, settings
from hypothesis import strategies as st

from hydro_ci.contract.dockerignore import Glob, PatternMatcher, translate

PATTERN_CHARS = "ab/*?[]!^-\\.\nA"
PATH_CHARS = "ab/.\nA-]^*"
patterns = st.one_of(st.text(PATTERN_CHARS, max_size=12),
                     st.text(PATTERN_CHARS, max_size=8).map(lambda p: "**/" + p))  # the name-only route
paths = st.text(PATH_CHARS, max_size=12)


def _sdk(path: str, pattern: str) -> bool | str:
    sdk_fnmatch._purge()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return sdk_fnmatch.fnmatch(path, pattern)
    except re.error:
        return "re.error"


def _ours(path: str, pattern: str) -> bool | str:
    try:
        return Glob(pattern.lower()).match(path.lower())
    except re.error:
        return "re.error"


@settings(max_examples=3000, deadline=None)
@given(patterns, paths)
def test_every_pattern_matches_as_the_sdk_matches_it(pattern: str, path: str) -> None:
    assert _ours(path, pattern) == _sdk(path, pattern)


@settings(max_examples=500, deadline=None)
@given(patterns)
def test_the_expression_is_the_sdks(pattern: str) -> None:
    assert translate(pattern) == sdk_fnmatch.translate(pattern)


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("**/*.pyc", "a/b/c.pyc", True), ("**/*.pyc", "c.pyc", True), ("**/*.pyc", "a/b/c.py", False),
    ("a*b*c", "axxbyyc", True), ("a*b*c", "ax/bc", False), ("**a**b", "xa/yb", False),
    ("**a**b", "a/b", True), ("*a*b\n", "xayb", False), ("*a*b", "xayb\n", True), ("[!a]*b*", "/xb", True),
    ("**/x*/**", "p/xq/r", True), ("**/x*/**", "p/q/r", False), ("x**", "x/y/z", True),
    # (.*/)?R with R within one name: R decides on the last name alone
    ("**/*.pyc", "a\nb/c.pyc", False), ("**/*.pyc", "a/b\nc.pyc", True), ("**/*[!x]", "a/b/", True),
    ("**/*[!x]", "a/b", True), ("**/*?", "\n", True), ("**/a*", "a/b\n", False), ("**/a*", "a\n", True),
])
def test_the_nfa_on_patterns_with_several_wildcards(pattern: str, path: str, expected: bool) -> None:
    assert Glob(pattern).match(path) is expected is _sdk(path, pattern)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(PATTERN_CHARS + " ", max_size=8), max_size=5), paths)
def test_the_matcher_as_the_sdks(lines: list[str], path: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            sdk_fnmatch._purge()
            expected: bool | str = sdk_build.PatternMatcher(lines).matches(path)
    except re.error:
        expected = "re.error"
    try:
        ours: bool | str = PatternMatcher(lines).matches(path)
    except re.error:
        ours = "re.error"
    assert ours == expected


# The SDK's expressions backtrack for minutes on these; each is one pass here.
CATASTROPHIC = [
    ("*" * 40 + "x", "a/" * 20 + "c"),  # (.*/)? twenty times: > 15 s in the SDK
    ("**/" * 30 + "*a*a", "a/" * 25 + "c"),  # > 15 s in the SDK
    ("*a" * 12 + "*b", "a" * 250),
    ("**a" * 12 + "b", "a/" * 100 + "c"),
    ("?*" * 200 + "b", "a" * 255),
]


@pytest.mark.parametrize(("pattern", "path"), CATASTROPHIC)
def test_patterns_the_sdk_backtracks_on_take_one_pass(pattern: str, path: str) -> None:
    glob = Glob(pattern)
    start = time.process_time()
    assert glob.match(path) is False
    assert glob.match(path + "/y" * 200) is False
    assert time.process_time() - start < 0.5
