"""Where each ``payload:`` entry comes from and where it lands in the image: Hydrosphere's layout.

hs 2.x (every release) resolved an entry with ``expandvars(expanduser(normpath(entry)))``, joined a
relative one to the model folder, expanded it with ``glob``, and put each match into the upload
under its basename (``tar.add(path, arcname=os.path.basename(path))``); the manager unpacked the
upload into ``/model/files/``. So ``calculator/src/`` lands at ``/model/files/src/`` and
``../requirements.txt`` at ``/model/files/requirements.txt``. This module is that layout, computed
once for ``contract check`` (the rules) and for ``render`` (the files it copies).

Differences, on purpose: a pattern or path that matches nothing is an error (hs dropped it
silently); two entries that land on one name are an error naming both (hs kept the last); ``.``
(or ``./``) ships the folder's files at ``/model/files/`` itself, as hydro-ci always did (hs 2 put
them under a folder named after the model folder, hs 3 at the root). And a model folder is
untrusted input: a shipped file must lie inside the repository that holds the folder (the git work
tree; the folder itself outside git) unless whoever runs hydro-ci trusts it, with
``HYDRO_CI_TRUST_PAYLOAD_OUTSIDE=1`` — never the folder itself.

Which files ship, and how each is opened, is here too (a model folder is hostile input):

- Ignore rules: the defaults (VCS data, caches, our own outputs), then the folder's ``.hydroignore``
  (``.dockerignore`` syntax, matched as the docker SDK's matcher does: ``**``, ``!`` exceptions, last
  match wins; but in linear time, hydro_ci.contract.dockerignore: at most 1 000 patterns of 1 024
  characters).
- ``.git``, ``.hg`` and ``.svn`` folders are never shipped, at any depth, whatever ``.hydroignore``
  says: a nested clone's config can hold a token.
- Every shipped file is resolved and must be a regular file inside its boundary: the model folder
  for its own files, the repository for an entry elsewhere in it (anything with the trust variable).
  A symlink that leaves it (``/proc/self/environ``, ``~/.docker/config.json``), points into a VCS
  folder, at a device or a FIFO (a link to ``/dev/zero`` would copy forever), nowhere, or round in
  a loop is refused, named. A link that stays inside ships its target's bytes; a link to a folder
  inside, that folder's files. FIFOs, sockets and devices that are not links are skipped (never
  opened), as before.
- The walk is iterative and at most ``MAX_DEPTH`` folders deep; a folder that cannot be listed is
  refused rather than silently shipped without its files.

``hydro_ci.input_files.open_regular`` is how a shipped file is read: it never follows a last-moment
link and never blocks on (or streams forever from) anything but a regular file.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from hydro_ci.contract.dockerignore import MatchBudgetError, Pattern, PatternMatcher
from hydro_ci.diagnostics import Location, Problem, did_you_mean
from hydro_ci.errors import ContextError
from hydro_ci.input_files import file_kind, open_regular

TRUST_ENV = "HYDRO_CI_TRUST_PAYLOAD_OUTSIDE"
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class PayloadItem:
    """One file or folder shipped: ``source`` (absolute, links not resolved) lands at
    ``/model/files/<target>``; ``target`` is ``""`` for ``.``, the model folder itself."""

    entry: str  # as written in serving.yaml
    location: Location
    source: Path
    target: str


def trusted_outside() -> bool:
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")


def expand(root: Path, entry: str) -> list[Path]:
    """The paths an entry names, as hs 2.x resolved them: ``~`` and ``$VARS`` expanded, relative
    entries joined to ``root``, normalised (``..`` folded), globs expanded (sorted)."""
    text = os.path.expandvars(os.path.expanduser(os.path.normpath(entry.strip())))
    path = os.path.normpath(text if os.path.isabs(text) else os.path.join(root, text))
    if _GLOB_CHARS & set(path):
        return [Path(p) for p in sorted(glob.glob(path))]
    return [Path(path)] if os.path.lexists(path) else []


def target_of(root: Path, source: Path) -> str:
    """The name under /model/files/: the basename, or "" for the model folder itself."""
    return "" if os.path.normpath(source) == os.path.normpath(root) else source.name


def repository_root(folder: Path) -> Path:
    """The git work tree holding ``folder`` (nearest ancestor with ``.git``), else ``folder``."""
    absolute = Path(os.path.abspath(folder))
    for candidate in (absolute, *absolute.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return absolute


def layout(root: Path, entries: list[tuple[str, Location]]) -> tuple[list[PayloadItem], list[Problem]]:
    """Every shipped item with its target, and every problem: missing, colliding, outside."""
    items: list[PayloadItem] = []
    problems: list[Problem] = []
    by_target: dict[str, PayloadItem] = {}
    boundary: Path | None = None
    real_root = _real(root)
    for entry, where in entries:
        if not entry.strip():
            problems.append(Problem(where, "empty payload entry; name a file or folder (or '.' for the "
                                    "whole folder)", "payload-missing"))
            continue
        found = expand(root, entry)
        if not found:
            problems.append(Problem(where, _missing(root, entry), "payload-missing"))
            continue
        for source in found:
            item = PayloadItem(entry, where, source, target_of(root, source))
            real = _real(source)
            if real is None:
                what = f"payload entry {entry!r}" + ("" if len(found) == 1 else f": {source}")
                problems.append(Problem(where, f"{what} is a broken symlink (or a loop)", "payload-missing"))
                continue
            inside_folder = real_root is not None and real.is_relative_to(real_root)
            if not inside_folder:
                boundary = boundary or _real(repository_root(root)) or root
                if not real.is_relative_to(boundary) and not trusted_outside():
                    problems.append(Problem(where, f"payload entry {entry!r} resolves outside the repository "
                                            f"{boundary} (to {real}); hydro-ci ships no file from outside "
                                            f"unless {TRUST_ENV}=1 is set where it runs",
                                            "payload-escapes"))
                    continue
            earlier = by_target.get(item.target)
            if earlier is not None and earlier.source != item.source:
                shown, first = item.target or ".", earlier.location.render()
                problems.append(Problem(where, f"payload entries {earlier.entry!r} ({first}) and {entry!r} "
                                        f"both land at /model/files/{shown}; Hydrosphere "
                                        "ships each entry under its basename: rename one, or ship their "
                                        "common folder", "payload-collision"))
                continue
            if earlier is None:
                by_target[item.target] = item
                items.append(item)
    return items, problems


def func_main_source(root: Path, items: list[PayloadItem] | None) -> Path:
    """Where ``/model/files/src/func_main.py`` comes from: the shipped item that lands at ``src``."""
    if items:
        for item in items:
            if item.target == "src" and item.source.is_dir():
                return item.source / "func_main.py"
            if item.target == "" and item.source.is_dir():
                return item.source / "src" / "func_main.py"
    return root / "src" / "func_main.py"


def _missing(root: Path, entry: str) -> str:
    if _GLOB_CHARS & set(entry):
        return f"payload pattern {entry!r} matches no file"
    try:
        names = sorted(p.name for p in root.iterdir())
    except OSError:
        names = []
    return f"payload entry {entry!r} does not exist{did_you_mean(entry.rstrip('/'), names)}"


def _real(path: Path) -> Path | None:
    try:
        if not path.exists():
            return None
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


# -----------------------------------------------------------------------------------------------
# Which files ship: ignore rules, the walk, opening a file
# -----------------------------------------------------------------------------------------------

IGNORE_FILE = ".hydroignore"
VCS_DIRS = frozenset({".git", ".hg", ".svn"})  # never shipped, at any depth
MAX_DEPTH = 100  # folders; model folders need < 15, and paths stay far below PATH_MAX
MAX_SCANNED = 20_000  # entries the quick scan (``needs_walk``) looks at before handing over

DEFAULT_IGNORES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    "**/__pycache__",
    "**/*.pyc",
    "**/.ipynb_checkpoints",
    "**/.DS_Store",
    ".hydro-ci",  # our own previous outputs
    "dist",
    ".pytest_cache",
    ".mypy_cache",
    IGNORE_FILE,
)


@dataclass(frozen=True)
class Refusal:
    """A path in the folder that would ship but cannot: ``rel`` is printable (escaped), one line."""

    rel: str
    message: str  # names the path: "payload file notes.txt is a symlink to …"
    rule: str
    hint: str = "copy the file into the folder, or leave it out with a line in .hydroignore"


@dataclass(frozen=True)
class Payload:
    """The folder's shipped files: (path under /model/files, the real file read) sorted, and what
    would ship but is refused."""

    files: tuple[tuple[str, Path], ...]
    refusals: tuple[Refusal, ...]

    def under(self, entry: str) -> Payload:
        """What a ``payload:`` entry (a file or folder, relative; ``""`` the whole folder) ships, and
        the refusals in it (or of a folder holding it, which could not be listed)."""
        if entry in ("", "."):
            return self
        prefix = entry + "/"
        files = tuple(f for f in self.files if f[0] == entry or f[0].startswith(prefix))
        refusals = tuple(r for r in self.refusals if r.rel in (entry, ".") or r.rel.startswith(prefix)
                         or prefix.startswith(r.rel + "/"))
        return Payload(files, refusals)


# --- names ---------------------------------------------------------------------------------------


def printable(rel: str) -> str:
    """``rel`` as it can be shown on one line: escaped when it is not UTF-8 or holds a control
    character (a newline in a file name must not start a new line, or a workflow command, in a log)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in rel):
            return rel
    return repr(rel.encode("utf-8", "surrogateescape"))[2:-1]


def name_refusal(rel: str) -> Refusal | None:
    """A payload path must be UTF-8 without control characters: plan.json, tar headers and
    Dockerfile tools cannot carry anything else faithfully."""
    shown = printable(rel)
    if shown == rel:
        return None
    return Refusal(shown, f"payload file name {shown} is not UTF-8 text without control characters",
                   "payload-name", f"rename the file, or leave it out with a line in {IGNORE_FILE}")


def check_name(rel: str) -> None:
    refused = name_refusal(rel)
    if refused is not None:
        raise ContextError(refused.message, hint=refused.hint)


# --- ignore rules --------------------------------------------------------------------------------


def read_ignore_file(folder: Path) -> list[str]:
    """Patterns from ``folder/.hydroignore`` (comments and blank lines dropped), as Docker reads them."""
    path = folder / IGNORE_FILE
    if not path.is_file():
        return []
    try:
        with open_regular(path) as fh:
            data = fh.read(1 << 20)
    except OSError as exc:
        raise ContextError(f"{path}: cannot read: {exc.strerror or exc}",
                           hint=f"make {IGNORE_FILE} a readable file, not a symlink") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = data[: exc.start].count(b"\n") + 1
        raise ContextError(f"{path}:{line_no}: not UTF-8 text",
                           hint=".hydroignore must be UTF-8 (patterns use .dockerignore syntax)") from None
    patterns: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            if len(patterns) == MAX_PATTERNS:
                raise ContextError(f"{path}:{number}: more than {MAX_PATTERNS} patterns",
                                   hint="ignore whole folders (data/) rather than file by file")
            if (why := _pattern_problem(line)) is not None:
                raise ContextError(f"{path}:{number}: {why}",
                                   hint="patterns as in .dockerignore: *.csv, **/*.tmp, !keep.md")
            patterns.append(line)
    return patterns


MAX_PATTERN = 1024  # characters in one pattern
MAX_PATTERNS = 1000  # lines: matching costs files x patterns x path length, each linear (dockerignore.py)


def _pattern_problem(pattern: str) -> str | None:
    """Why a pattern cannot be matched: too long, or not one Docker's matcher compiles (re.error)."""
    if len(pattern) > MAX_PATTERN:
        return f"a pattern longer than {MAX_PATTERN} characters"
    try:
        Pattern.parse(pattern)
    except re.error as exc:
        return f"{pattern!r} is not a valid pattern ({exc})"
    return None


def ignore_patterns(folder: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """Defaults first, so the user's ``!pattern`` lines can bring an ignored file back."""
    return [*DEFAULT_IGNORES, *extra, *read_ignore_file(folder)]


class IgnoreRules:
    """The folder's ignore patterns, matched as Docker matches ``.dockerignore`` (the docker SDK's
    rules, in linear time: hydro_ci.contract.dockerignore)."""

    def __init__(self, patterns: list[str], source: Path | None = None) -> None:
        self._matcher = PatternMatcher(patterns)
        self._source = source  # the .hydroignore, named when its patterns cost too much

    def ignored(self, rel: str) -> bool:
        try:
            return self._matcher.matches(rel)
        except MatchBudgetError as exc:
            raise ContextError(f"{self._source or IGNORE_FILE}: {exc} (at {printable(_short(rel))})",
                               hint="use fewer wildcards per pattern (*, **), or fewer patterns") from None

    def may_hold_exceptions(self, rel: str) -> bool:
        """Whether an ignored folder must still be walked: a ``!`` pattern may keep a file in it."""
        return any(p.exclusion and p.cleaned_pattern.startswith(rel) for p in self._matcher.patterns)


def rules_for(folder: Path, extra: tuple[str, ...] = ()) -> IgnoreRules:
    return IgnoreRules(ignore_patterns(folder, extra), folder / IGNORE_FILE)


def ignored_by(folder: Path) -> Callable[[str], bool]:
    """Whether a path relative to ``folder`` is left out of its build context (a parent folder
    ignored counts, as the walk never descends into it; so does a VCS folder at any depth).
    ``.hydroignore`` itself is not shipped but decides what is, so it never counts as ignored."""
    rules = rules_for(folder)

    def ignored(rel: str) -> bool:
        if rel == IGNORE_FILE:
            return False
        return any(part in VCS_DIRS for part in rel.split("/")[:-1]) or rules.ignored(rel)

    return ignored


# --- the walk ------------------------------------------------------------------------------------


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _short(rel: str, limit: int = 80) -> str:
    return rel if len(rel) <= limit else rel[: limit - 1] + "…"


@dataclass(frozen=True)
class _Folder:
    ship: str  # its path under /model/files ("" for the model folder)
    real: str  # its real path on disk
    match: str  # its real path relative to the model folder: what the ignore rules see
    above: tuple[str, ...]  # the real paths of the folders it was reached through (loops)


def resolve_inside(real_root: str, path: str, rel: str,
                   what: str = "the model folder") -> tuple[str, os.stat_result] | Refusal:
    """A symlink ``path`` (shipped as ``rel``) resolved: its real target and that target's stat,
    or why it cannot ship (outside the folder, into a VCS folder, dangling, a loop)."""
    shown = printable(rel)
    try:
        target = os.path.realpath(path, strict=True)
        st = os.stat(target)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Refusal(shown, f"payload file {shown} is a symlink loop", "payload-loop",
                           "remove the link, or leave it out with a line in .hydroignore")
        try:
            where = printable(os.readlink(path))
        except OSError:
            where = "?"
        return Refusal(shown, f"payload file {shown} is a symlink to missing {where}", "payload-missing",
                       "remove the link, or leave it out with a line in .hydroignore")
    if not (target == real_root or target.startswith(real_root.rstrip("/") + "/")):
        try:
            written = os.readlink(path)  # as the folder wrote it (/proc/self/…, not /proc/1234/…)
        except OSError:
            written = target
        return Refusal(shown, f"payload file {shown} is a symlink to {printable(written)}, which leads "
                              f"outside {what}", "payload-escapes")
    inside = os.path.relpath(target, real_root).split("/")
    if any(part in VCS_DIRS for part in inside):
        return Refusal(shown, f"payload file {shown} is a symlink into {printable('/'.join(inside))}: "
                              "version control data is never shipped", "payload-escapes")
    return target, st


def walk(root: Path, rules: IgnoreRules, boundary: str | None = None,
         what: str = "the model folder") -> Payload:
    """Every file of ``root`` its rules keep, resolved (see the module docstring), and every refusal;
    links must stay inside ``boundary`` (a real path; default ``root`` itself)."""
    real_root = os.path.realpath(root)
    limit = boundary or real_root
    files: list[tuple[str, Path]] = []
    refusals: list[Refusal] = []
    stack = [_Folder("", real_root, "", (real_root,))]
    while stack:
        here = stack.pop()
        try:
            with os.scandir(here.real) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            shown = printable(here.ship or ".")
            refusals.append(Refusal(shown, f"payload folder {shown} cannot be listed: {exc.strerror or exc}",
                                    "payload-unreadable",
                                    "make it readable, or leave it out with a line in .hydroignore"))
            continue
        for entry in entries:
            if entry.name in VCS_DIRS:
                continue
            rel, match = _join(here.ship, entry.name), _join(here.match, entry.name)
            ignored = rules.ignored(match)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone since it was listed
            if stat.S_ISDIR(st.st_mode):
                if not ignored or rules.may_hold_exceptions(match):
                    _descend(stack, refusals, here, rel, entry.path, match)
                continue
            if ignored:
                continue
            if (bad := name_refusal(rel)) is not None:
                refusals.append(bad)
                continue
            if stat.S_ISREG(st.st_mode):
                files.append((rel, Path(entry.path)))
            elif stat.S_ISLNK(st.st_mode):
                _follow(stack, files, refusals, here, rel, entry.path, real_root, (limit, what))
            # FIFOs, sockets and devices: skipped, never opened
    files.sort()
    refusals.sort(key=lambda r: r.rel)
    return Payload(tuple(files), tuple(refusals))


def _descend(stack: list[_Folder], refusals: list[Refusal], here: _Folder, rel: str, real: str,
             match: str) -> None:
    if rel.count("/") + 1 > MAX_DEPTH:
        shown = printable(_short(rel))
        refusals.append(Refusal(shown, f"payload folder {shown} is nested more than {MAX_DEPTH} folders deep",
                                "payload-too-deep", "flatten it, or leave it out with .hydroignore"))
        return
    stack.append(_Folder(rel, real, match, (*here.above, real)))


def _follow(stack: list[_Folder], files: list[tuple[str, Path]], refusals: list[Refusal], here: _Folder,
            rel: str, path: str, real_root: str, limit: tuple[str, str]) -> None:
    resolved = resolve_inside(limit[0], path, rel, limit[1])
    if isinstance(resolved, Refusal):
        refusals.append(resolved)
        return
    target, st = resolved
    if stat.S_ISREG(st.st_mode):
        files.append((rel, Path(target)))
    elif stat.S_ISDIR(st.st_mode):
        if target in here.above:
            shown = printable(rel)
            refusals.append(Refusal(shown, f"payload folder {shown} is a symlink to a folder holding it "
                                           "(a loop)", "payload-loop",
                                    "remove the link, or leave it out with a line in .hydroignore"))
            return
        # Its files as the ignore rules see them where they really are, shipped under the link's name
        # (outside the walked folder, inside the boundary: under its own name).
        inside = target.startswith(real_root.rstrip("/") + "/")
        _descend(stack, refusals, here, rel, target, os.path.relpath(target, real_root) if inside else rel)
    else:
        shown = printable(rel)
        refusals.append(Refusal(shown, f"payload file {shown} is a symlink to {file_kind(st.st_mode)} "
                                       f"({printable(target)}), not a regular file", "payload-special"))


def shipped(root: Path, extra: tuple[str, ...] = ()) -> Payload:
    """The files ``root`` ships (before any ``payload:`` selection) and what is refused."""
    return walk(root, rules_for(root, extra))


def needs_walk(root: Path) -> bool:
    """Whether ``walk`` may refuse anything in ``root``: a quick look (no ignore rules to read and
    match) for links, special files, unreadable or very deep folders and odd names. False means
    every entry is a plain file or folder with a good name, which the walk cannot refuse."""
    # Our own outputs (.hydro-ci/: a context links large files) are ignored unless .hydroignore says
    # otherwise: skipping them keeps a check after a local build from walking the context.
    skip = set() if os.path.lexists(root / IGNORE_FILE) else {os.path.join(root, ".hydro-ci")}
    stack = [(str(root), 0)]
    seen = 0
    while stack:
        path, depth = stack.pop()
        if path in skip:
            continue
        if depth > MAX_DEPTH:
            return True
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError:
            return True
        for entry in entries:
            seen += 1
            if seen > MAX_SCANNED or printable(entry.name) != entry.name:
                return True
            if entry.name in VCS_DIRS:
                continue
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                return True
            if stat.S_ISDIR(mode):
                stack.append((entry.path, depth + 1))
            elif not stat.S_ISREG(mode):
                return True
    return False


def problems_in(payload: Payload, entries: Iterable[str]) -> list[Refusal]:
    """The refusals of the files ``entries`` ship (every refusal when there is no entry)."""
    chosen = [e.strip().strip("/") for e in entries] or [""]
    seen: dict[str, Refusal] = {}
    for entry in chosen:
        for refusal in payload.under(entry).refusals:
            seen.setdefault(refusal.rel, refusal)
    return sorted(seen.values(), key=lambda r: r.rel)


def item_payload(root: Path, item: PayloadItem, folder: Payload) -> Payload:
    """The files one payload item ships (paths under /model/files) and what it would ship but cannot.

    An item inside the model folder takes its part of the folder's own walk (``folder``: its ignore
    rules, links kept inside the folder); an item elsewhere in the repository is walked with its own
    (default and .hydroignore) rules, its links kept inside the repository (anywhere, but still
    regular files, when whoever runs hydro-ci set the trust variable).
    """
    real_root, real = os.path.realpath(root), os.path.realpath(item.source)
    if real == real_root:
        return folder
    if real.startswith(real_root.rstrip("/") + "/"):
        # a link listed by its own name in the folder's walk; anything else by where it really is
        rel = Path(os.path.relpath(item.source if item.source.is_symlink() else real, root)).as_posix()
        part = folder.under(rel)
        return Payload(tuple(sorted((item.target + f[len(rel):], src) for f, src in part.files)),
                       part.refusals)
    boundary = "/" if trusted_outside() else os.path.realpath(repository_root(root))
    shown = Path(os.path.relpath(item.source, root)).as_posix()
    if os.path.isdir(real):
        sub = walk(Path(real), rules_for(Path(real)), boundary, "the repository")
        refusals = tuple(Refusal(f"{shown}/{r.rel}", r.message.replace(f" {r.rel} ", f" {shown}/{r.rel} ", 1),
                                 r.rule, r.hint) for r in sub.refusals)
        return Payload(tuple(sorted((f"{item.target}/{f}", src) for f, src in sub.files)), refusals)
    resolved = resolve_inside(boundary, str(item.source), shown, "the repository")
    if isinstance(resolved, Refusal):
        return Payload((), (resolved,))
    target, st = resolved
    if not stat.S_ISREG(st.st_mode):
        return Payload((), (Refusal(shown, f"payload file {shown} is {file_kind(st.st_mode)}, not a regular "
                                           "file", "payload-special"),))
    return Payload(((item.target, Path(target)),), ())
