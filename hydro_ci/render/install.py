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
        if _PIP_URL.match(path):
            return False
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
# A requirements file pip fetches or opens as a URL, not as a path (req_file.SCHEME_RE): a payload
# folder named "file:" must not make `-r file:/etc/passwd` look like one of its files.
_PIP_URL = re.compile(r"^(http|https|file):", re.IGNORECASE)


def _logical_lines(text: str) -> list[str]:
    return [line for _, line in _numbered_lines(text)]


def _numbered_lines(text: str) -> list[tuple[int, str]]:
    """pip's reading of a requirements file: backslash continuations joined (not after a comment,
    as pip's join_lines), comments dropped; each line with the number of its first physical line."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        start = start or number
        if raw.endswith("\\") and not _COMMENT.search(raw):
            pending += raw[:-1]
            continue
        line, pending = _COMMENT.sub("", pending + raw).strip(), ""
        if line:
            out.append((start, line))
        start = 0
    if (last := _COMMENT.sub("", pending).strip()):
        out.append((start, last))
    return out


def _pip_line(line: str) -> tuple[str, list[str]] | None:
    """One logical line as pip reads it (req_file.break_args_options, then shlex on the options):
    the words before the first one starting with ``-`` are a requirement, the rest its options,
    unquoted as a shell would (``-r "a b.txt"``, ``-r ..\\/x``). None when they cannot be split
    (an unclosed quote: pip stops there)."""
    tokens = line.split(" ")
    cut = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    try:
        return " ".join(tokens[:cut]).strip(), shlex.split(" ".join(tokens[cut:]))
    except ValueError:
        return None


def _option(words: list[str]) -> tuple[str, str] | None:
    """(option, value) of a line holding one option; None when it holds more (pip reads them all;
    we do not guess)."""
    if len(words) > (1 if "=" in words[0] else 2):
        return None
    word, value = words[0], " ".join(words[1:])
    if "=" in word and word.startswith("--"):
        word, _, value = word.partition("=")
    return word, value


def _only_binary_undone(word: str, value: str) -> bool:
    """``--only-binary=:none:`` in a requirements file clears the builder's ``--only-binary=:all:``
    (pip applies a file's options to its finder): sdists from any index or --find-links are built."""
    return word == "--only-binary" and ":none:" in value.split(",")


def _line_reads_only(line: str, base: str, deps: Mapping[str, str | None],
                     nested: Callable[[str], bool]) -> bool:
    if "${" in line:  # pip expands environment variables, which may name a path
        return False
    split = _pip_line(line)
    if split is None:
        return False
    requirement, words = split
    if requirement:  # options on a requirement line are read too (--config-settings, --only-binary…)
        return all(w.startswith("--hash=") for w in words) and _requirement_reads_only(
            requirement.split(";", 1)[0].strip(), base, deps)
    option = _option(words)
    if option is None:
        return False
    word, value = option
    if word in ("-r", "--requirement", "-c", "--constraint"):
        return nested(posixpath.join(base, value))
    if word.startswith(("-r", "-c")) and len(word) > 2:
        return nested(posixpath.join(base, word[2:]))
    if word in _LOCATION_OPTIONS:
        return "://" in value and "file:" not in value
    return word in _HARMLESS_OPTIONS  # -e/--editable and anything unknown: no


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


# --- may pip run it on the build host? ---------------------------------------------------------------

# Options that neither name a file nor make pip build anything (--no-binary would: it is not here).
_HOST_OPTIONS = ("--trusted-host", "--pre", "--prefer-binary", "--only-binary", "--require-hashes", "--hash",
                 "--no-index")
_VCS_SCHEMES = ("git+", "hg+", "svn+", "bzr+")


def host_install_refusal(spec: PipInstall, deps: Mapping[str, str | None]) -> str | None:
    """Why pip, run on the build host (the daemonless builder) for ``spec`` in /model/files, could run
    code from the payload or read a file outside it; None when it can only download and unpack wheels.

    Allowed: requirement names (resolved from an index, wheels only: ``--only-binary=:all:``), wheel
    URLs, wheel files of the payload, and ``-r``/``-c`` files of the payload (``deps`` maps every payload
    path to its text, None where it is not text) holding the same, plus options that read nothing and
    build nothing. Refused, with the file and line: local folders and source archives (pip builds them,
    running their setup.py, whatever ``--only-binary`` says), VCS URLs, ``-e``, files outside the payload,
    ``file:`` and on-disk indexes, ``${VARIABLES}`` (pip expands them from the host's environment),
    ``--no-binary`` and any option we do not know.
    """
    seen: set[str] = set()

    def requirement_file(path: str, where: str) -> str | None:
        norm = posixpath.normpath(path)
        if _PIP_URL.match(path):
            return f"{where}: {_shown(path)} is a URL, which pip would fetch or read from the build host"
        if posixpath.isabs(norm) or norm.split("/")[0] == "..":
            return f"{where}: {_shown(path)} is outside the model's payload"
        if norm in seen:
            return None
        seen.add(norm)
        if norm not in deps:
            return f"{where}: {_shown(path)} is not a file of the model's payload"
        text = deps[norm]
        if text is None:
            return f"{where}: {_shown(path)} is not a text requirements file"
        base = posixpath.dirname(norm)
        for number, line in _numbered_lines(text):
            why = _host_line_refusal(line, base, deps, requirement_file, f"{norm}:{number}")
            if why is not None:
                return why
        return None

    for name in spec.requirement_files:
        if (why := requirement_file(name, "install-command")) is not None:
            return why
    for req in spec.requirements:
        if (why := _host_requirement_refusal(req, deps, "install-command")) is not None:
            return why
    return None


def _host_line_refusal(line: str, base: str, deps: Mapping[str, str | None],
                       nested: Callable[[str, str], str | None], where: str) -> str | None:
    shown = _shown(line)
    if "${" in line:
        return f"{where}: {shown} names an environment variable, which pip would expand on the build host"
    split = _pip_line(line)
    if split is None:
        return f"{where}: {shown} has a quote pip cannot close"
    requirement, words = split
    if requirement:
        # pip reads options after a requirement too, and applies some to every requirement
        # (``numpy --hash=… --only-binary=:none:``): only hashes are passed on
        if (extra := next((w for w in words if not w.startswith("--hash=")), None)) is not None:
            return (f"{where}: {shown} gives pip option {_shown(extra)} on a requirement line; only "
                    "--hash=… is allowed there")
        # pip reads a requirement's path from the working directory (/model/files), whichever file
        # names it
        return _host_requirement_refusal(requirement.split(";", 1)[0].strip(), deps, where)
    option = _option(words)
    if option is None:
        return f"{where}: {shown} has several options on one line; give one per line"
    word, value = option
    if word in ("-r", "--requirement", "-c", "--constraint"):
        return nested(posixpath.join(base, value), where)
    if word.startswith(("-r", "-c")) and not word.startswith("--") and len(word) > 2:
        return nested(posixpath.join(base, word[2:]), where)
    if word in ("-e", "--editable") or (word.startswith("-e") and not word.startswith("--")):
        return f"{where}: {shown} is an editable install: pip would build (run the code of) it on the host"
    if word in _LOCATION_OPTIONS:
        if value.startswith(("https://", "http://")) or (word in ("-f", "--find-links")
                                                         and _payload_folder(value, base, deps)):
            return None
        return (f"{where}: {shown} points pip at {_shown(value)} on disk; only an index URL (https://…) "
                "or, for --find-links, a folder of the payload is allowed")
    if _only_binary_undone(word, value):
        return (f"{where}: {shown} would let pip build source distributions on the build host; the oci "
                "builder installs wheels only")
    named = word if word.isprintable() and len(word) <= 40 else _shown(word)
    return None if word in _HOST_OPTIONS else (
        f"{where}: pip option {named} is not one the oci builder passes on (it may build from source)")


def _shown(text: str, limit: int = 120) -> str:
    """A payload line in a message: quoted, escaped, and short (a line may be a megabyte)."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _payload_folder(value: str, base: str, deps: Mapping[str, str | None]) -> bool:
    """A --find-links folder of the payload: pip takes it relative to the requirements file when it
    exists there, else to the working directory; both readings must stay inside, one must hold files."""
    if "${" in value or ":" in value:
        return False
    candidates = [posixpath.normpath(posixpath.join(base, value)), posixpath.normpath(value)]
    if any(posixpath.isabs(c) or c.split("/")[0] == ".." for c in candidates):
        return False
    return any(p == "." or any(k.startswith(p + "/") for k in deps) for p in candidates)


def _host_requirement_refusal(req: str, deps: Mapping[str, str | None], where: str) -> str | None:
    shown = _shown(req)
    if "${" in req:
        return f"{where}: {shown} names an environment variable, which pip would expand on the build host"
    if "://" in req or req.lower().startswith("file:"):
        url = req.split("@", 1)[1].strip() if "@" in req.split("://", 1)[0] else req
        if url.lower().startswith(_VCS_SCHEMES):
            return f"{where}: {shown} is a VCS URL: pip would build it on the build host; use a wheel"
        path = url.split("#", 1)[0].split("?", 1)[0].lower()
        if url.lower().startswith(("https://", "http://")) and path.endswith(".whl"):
            return None
        return f"{where}: {shown} is not a wheel URL (https://….whl): pip would build it on the build host"
    if _NAME.match(req) and not req.lower().endswith(_ARCHIVES):
        return None  # from the index, as a wheel (--only-binary=:all:)
    norm = posixpath.normpath(req)
    inside = not posixpath.isabs(norm) and norm.split("/")[0] != ".."
    if req.lower().endswith(".whl") and inside and norm in deps:
        return None
    if req.lower().endswith(".whl"):
        return f"{where}: {shown} is not a wheel file of the model's payload"
    return (f"{where}: {shown} is a local folder or source archive: pip would build it (run its setup.py) on "
            "the build host")
