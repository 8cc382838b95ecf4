"""What an ``install-command`` needs: the plain ``pip install -r requirements.txt`` family, understood.

Two users: the daemonless builder runs such a command with pip for the runtime's platform (and
refuses anything else), and the Dockerfile runs it before the weights and code are copied when it
provably reads nothing but dependency files, so a code change re-runs neither the install nor the
upload of what it installed. Pure: file contents come in as a mapping.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_PIP_PREFIXES = (("pip",), ("pip3",), ("python", "-m", "pip"), ("python3", "-m", "pip"))
_PIP_FLAGS = {"--no-cache-dir", "-q", "--quiet", "-U", "--upgrade", "--no-deps",
              "--disable-pip-version-check"}


@dataclass(frozen=True)
class PipInstall:
    """What ``pip install …`` asked for: requirement files (relative to /model/files) and specifiers."""

    requirement_files: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    no_deps: bool = False


def parse_pip_install(command: str | None) -> PipInstall | None:
    """``pip install -r requirements.txt`` and close relatives; None for anything else (shell syntax,
    other programs, options we do not know)."""
    if not command or not command.strip() or "#" in command:  # sh and shlex read # differently
        return None
    try:
        # punctuation_chars splits unquoted ; & | < > ( ) into their own words: shell syntax we refuse.
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return None
    if any(set(w) <= set(";&|<>()") or "$" in w or "`" in w for w in words):
        return None
    prefix = next((p for p in _PIP_PREFIXES if tuple(words[: len(p)]) == p), None)
    if prefix is None or words[len(prefix): len(prefix) + 1] != ["install"]:
        return None
    files: list[str] = []
    specs: list[str] = []
    no_deps = False
    rest = iter(words[len(prefix) + 1:])
    for w in rest:
        if w in ("-r", "--requirement"):
            files.append(next(rest, ""))
        elif w.startswith("--requirement="):
            files.append(w.split("=", 1)[1])
        elif w.startswith("-r") and len(w) > 2:
            files.append(w[2:])
        elif w in _PIP_FLAGS:
            no_deps = no_deps or w == "--no-deps"
        elif w.startswith("-"):
            return None
        else:
            specs.append(w)
    if "" in files or not (files or specs):
        return None
    return PipInstall(tuple(files), tuple(specs), no_deps)


# --- does it read only dependency files? -------------------------------------------------------------

# Requirement-file options that name nothing on disk.
_HARMLESS_OPTIONS = ("--trusted-host", "--pre", "--prefer-binary", "--only-binary", "--no-binary",
                     "--require-hashes", "--use-feature", "--hash", "--no-index")
# Options whose value is a location: harmless only when it is a remote URL.
_LOCATION_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links")
# What pip takes for an archive file (its own list, plus any case): a path, whatever else it looks like.
_ARCHIVES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz",
             ".tar.lz", ".tlz", ".tar.lzma")
# A distribution name, extras, and a version specifier: nothing local.
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\s*(\[[^\]]*\])?\s*([<>=!~][^/\\]*)?$")


def reads_only(spec: PipInstall, deps: Mapping[str, str | None]) -> bool:
    """Whether running ``spec`` in /model/files reads no payload file outside ``deps``.

    ``deps`` maps the dependency files' paths (relative to /model/files) to their text, or None where
    it was not read (wheels, binary or very large files). Requirement files, nested ``-r``/``-c``
    files and local archives must be in ``deps``, requirement files with known text; editable
    installs, local directories, an index or ``--find-links`` on disk, ``${VARIABLES}`` (pip expands
    them) and anything this cannot read are answered no, which keeps the install after every file.
    A wrong no costs a slower rebuild; a wrong yes, a broken one: when unsure, no.
    """
    seen: set[str] = set()

    def requirement_file(path: str) -> bool:
        path = posixpath.normpath(path)
        if path in seen:
            return True
        seen.add(path)
        text = deps.get(path)
        if text is None:
            return False
        base = posixpath.dirname(path)
        lines = _logical_lines(text)
        return all(_line_reads_only(line, base, deps, requirement_file) for line in lines)

    return all(requirement_file(f) for f in spec.requirement_files) and all(
        _requirement_reads_only(r, "", deps) for r in spec.requirements)


_COMMENT = re.compile(r"(^|\s+)#.*$")


def _logical_lines(text: str) -> list[str]:
    """pip's reading of a requirements file: backslash continuations joined (not after a comment,
    as pip's join_lines), comments dropped."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if raw.endswith("\\") and not _COMMENT.search(raw):
            pending += raw[:-1]
            continue
        line, pending = _COMMENT.sub("", pending + raw).strip(), ""
        if line:
            out.append(line)
    if (last := _COMMENT.sub("", pending).strip()):
        out.append(last)
    return out


def _line_reads_only(line: str, base: str, deps: Mapping[str, str | None],
                     nested: Callable[[str], bool]) -> bool:
    if "${" in line:  # pip expands environment variables, which may name a path
        return False
    if line.startswith("-") and len(line.split()) > (1 if "=" in line.split()[0] else 2):
        return False  # several options on one line: pip reads them all; we do not guess
    word, _, value = line.partition(" ")
    if "=" in word and word.startswith("--"):
        word, _, value = word.partition("=")
    value = value.strip()
    if word in ("-r", "--requirement", "-c", "--constraint"):
        return nested(posixpath.join(base, value))
    if word.startswith(("-r", "-c")) and len(word) > 2:
        return nested(posixpath.join(base, word[2:]))
    if word in _LOCATION_OPTIONS:
        return "://" in value and "file:" not in value
    if word.startswith("-"):
        return word in _HARMLESS_OPTIONS  # -e/--editable and anything unknown: no
    return _requirement_reads_only(line.split(";", 1)[0].split(" --hash", 1)[0].strip(), base, deps)


def _requirement_reads_only(req: str, base: str, deps: Mapping[str, str | None]) -> bool:
    """A specifier (``numpy>=1``, ``pkg[extra]``, ``pkg @ https://…``) reads nothing local; a path
    must be a dependency file (a wheel or sdist in the payload); anything else counts as local."""
    if "file:" in req or "${" in req:  # file:, git+file:, pkg @ file:…; an expanded variable
        return False
    if "://" in req:  # an index, VCS or archive URL: fetched, not read from the payload
        return True
    if _NAME.match(req) and not req.lower().endswith(_ARCHIVES):
        return True
    return posixpath.normpath(posixpath.join(base, req)) in deps
