"""The one place hydro-ci runs git. Failures become ``GitError`` with a sentence saying what to do."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from hydro_ci.errors import HydroCIError


class GitError(HydroCIError):
    """A git command failed or git is missing."""


def run_git(args: Sequence[str], cwd: Path | str, *, check: bool = True, input: bytes | None = None,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input, env=env)
    except FileNotFoundError:
        raise GitError("git is not installed", hint="install git, or set SOURCE_DATE_EPOCH") from None
    if check and proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        last = detail[-1] if detail else f"exit {proc.returncode}"
        raise GitError(f"git {' '.join(args[:2])} failed in {cwd}: {last}")
    return proc


def git_output(args: Sequence[str], cwd: Path | str) -> str:
    # git names (tags, branches, paths) are bytes; one that is not UTF-8 must not crash us
    return os.fsdecode(run_git(args, cwd).stdout).strip()


def is_work_tree(path: Path | str) -> bool:
    proc = run_git(["rev-parse", "--is-inside-work-tree"], path, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == b"true"


def head_commit(path: Path | str) -> str | None:
    """The full commit id of HEAD, or None outside a repository or before the first commit."""
    proc = run_git(["rev-parse", "--verify", "-q", "HEAD"], path, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def has_uncommitted_changes(path: Path | str) -> bool:
    """Whether tracked files under ``path`` differ from HEAD (staged or not): then HEAD does not name
    what is being built. Untracked files do not count (outputs and caches often are)."""
    proc = run_git(["status", "--porcelain", "--untracked-files=no", "--", "."], path, check=False)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def not_held(repo: Path | str, folder: Path | str, shipped: Iterable[Path]) -> str | None:
    """Why HEAD does not hold ``folder`` as it is built, or None when it does.

    Not held: a tracked file under ``folder`` differs from HEAD (staged or not), or a ``shipped``
    file is not in HEAD as it is: untracked (ignored files too: git holds none of them), added but
    not committed, modified, or outside the repository. Untracked files that are not shipped
    (outputs, caches) do not count. The reason names the first such file.
    """
    if head_commit(folder) is None:
        return "the repository has no commit yet"
    proc = run_git(["status", "--porcelain", "-z", "--untracked-files=no", "--", "."], folder, check=False)
    if proc.returncode == 0 and proc.stdout.strip(b"\0"):
        changed = [os.fsdecode(e[3:]) for e in proc.stdout.split(b"\0") if len(e) > 3]
        return _first(changed, "has uncommitted changes")
    root = Path(repo).resolve()
    inside = Path(folder).resolve()
    rels: list[str] = []
    for path in shipped:
        real = Path(path).resolve()
        if not real.is_relative_to(root):
            return f"{path} is outside the repository {root}"
        rels.append(real.relative_to(root).as_posix())
    if not rels:
        return None
    # One pathspec for the folder, one per file shipped from elsewhere in the repository.
    prefix = inside.relative_to(root).as_posix() + "/" if inside.is_relative_to(root) else None
    specs = sorted({prefix[:-1] if prefix and (prefix == "./" or r.startswith(prefix)) else r for r in rels})

    def names(*args: str) -> set[str]:
        out = run_git(["--literal-pathspecs", *args, "-z", "--", *specs], root).stdout
        return {os.fsdecode(n) for n in out.split(b"\0") if n}

    tracked = names("ls-files")
    differs = names("diff", "--name-only", "HEAD")
    untracked = [r for r in rels if r not in tracked]
    if untracked:
        return _first(untracked, "is not committed (untracked or ignored by git)")
    modified = [r for r in rels if r in differs]
    return _first(modified, "has uncommitted changes") if modified else None


def _first(paths: list[str], what: str) -> str:
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    return f"{paths[0]} {what}{more}"


def last_commit_time(path: Path | str) -> int | None:
    """Commit time (seconds since the epoch) of the last commit touching ``path``, else of HEAD."""
    for args in (["log", "-1", "--format=%ct", "--", "."], ["log", "-1", "--format=%ct"]):
        proc = run_git(args, path, check=False)
        text = proc.stdout.decode().strip()
        if proc.returncode == 0 and text:
            return int(text)
    return None


def remote_url(path: Path | str, remote: str = "origin") -> str | None:
    proc = run_git(["remote", "get-url", remote], path, check=False)
    return os.fsdecode(proc.stdout).strip() or None if proc.returncode == 0 else None


# --- tags: listing, reading files at a ref, and pushing a tag as an atomic reservation -----------


def repo_root(path: Path | str) -> Path:
    return Path(git_output(["rev-parse", "--show-toplevel"], path))


def is_shallow(path: Path | str) -> bool:
    return git_output(["rev-parse", "--is-shallow-repository"], path) == "true"


def short_commit(path: Path | str, length: int = 7) -> str | None:
    proc = run_git(["rev-parse", f"--short={length}", "--verify", "-q", "HEAD"], path, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def current_branch(path: Path | str) -> str | None:
    """The checked-out branch, or None on a detached HEAD."""
    proc = run_git(["symbolic-ref", "--short", "-q", "HEAD"], path, check=False)
    return os.fsdecode(proc.stdout).strip() or None if proc.returncode == 0 else None


def local_tags(path: Path | str) -> dict[str, str]:
    """Tag name → object id, from one ``for-each-ref`` (fast with tens of thousands of tags)."""
    out = git_output(["for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags"], path)
    return dict(line.rsplit(" ", 1) for line in out.splitlines() if line)


def tags_at(path: Path | str, commit: str = "HEAD") -> list[str]:
    """The tags pointing at ``commit`` (annotated ones through their object)."""
    out = run_git(["tag", "--points-at", commit], path, check=False)
    return [os.fsdecode(t) for t in out.stdout.splitlines() if t] if out.returncode == 0 else []


def tag_exists(path: Path | str, name: str) -> bool:
    return run_git(["rev-parse", "-q", "--verify", f"refs/tags/{name}"], path, check=False).returncode == 0


def tag_commit(path: Path | str, name: str) -> str | None:
    """The commit the tag ``name`` points at (through an annotated tag's object); None without one."""
    out = run_git(["rev-parse", "-q", "--verify", f"refs/tags/{name}^{{commit}}"], path, check=False)
    if out.returncode != 0:
        return None
    return out.stdout.decode().strip() or None


def remote_tags(path: Path | str, remote: str = "origin") -> dict[str, str]:
    """Tag name → object id as the remote has them (``ls-remote``, one round trip)."""
    out = git_output(["ls-remote", "--tags", "--refs", remote], path)
    tags = {}
    for line in out.splitlines():
        oid, _, ref = line.partition("\t")
        tags[ref.removeprefix("refs/tags/")] = oid
    return tags


def has_remote(path: Path | str, remote: str = "origin") -> bool:
    return run_git(["remote", "get-url", remote], path, check=False).returncode == 0


def show_file(path: Path | str, ref: str, file: str) -> bytes | None:
    """The bytes of ``file`` (relative to the repository root) at ``ref``, without a checkout."""
    proc = run_git(["show", f"{ref}:{file}"], path, check=False)
    return proc.stdout if proc.returncode == 0 else None


def create_tag(path: Path | str, name: str, message: str, commit: str = "HEAD") -> str:
    """Create an annotated tag (its object id is unique to this message) and return that id."""
    ident: list[str] = []
    if run_git(["config", "user.email"], path, check=False).returncode != 0:
        ident = ["-c", "user.name=hydro-ci", "-c", "user.email=hydro-ci@localhost"]
    run_git([*ident, "tag", "-a", "-m", message, name, commit], path)
    return git_output(["rev-parse", f"refs/tags/{name}"], path)


def delete_local_tag(path: Path | str, name: str) -> None:
    run_git(["tag", "-d", name], path, check=False)


def push_tag(path: Path | str, name: str, remote: str = "origin") -> bool:
    """Push one tag without force: True if the remote holds our tag, False if it holds another.

    A losing push is reported as "[rejected] (already exists)" or, when pushes race on the server,
    "[remote rejected] (failed to update ref)"; rather than parse wording, a failed push is judged
    by what the remote holds afterwards. Nothing there means a real failure (rights, network).
    """
    ref = f"refs/tags/{name}"
    proc = run_git(["push", "--porcelain", remote, f"{ref}:{ref}"], path, check=False)
    if proc.returncode == 0:
        return True
    ours = git_output(["rev-parse", ref], path)
    there = run_git(["ls-remote", remote, ref], path, check=False).stdout.decode().split("\t")[0].strip()
    if there:
        return there == ours
    last = (proc.stderr.decode(errors="replace").strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    raise GitError(f"git push of tag {name} to {remote} failed: {last}",
                   hint="check that the CI job may push tags (e.g. permissions: contents: write)")


def fetch_tags(path: Path | str, remote: str = "origin") -> None:
    """Bring every remote tag (and its commits) here; the remote's tags win."""
    run_git(["fetch", "--quiet", "--no-recurse-submodules", remote, "+refs/tags/*:refs/tags/*"], path)


# --- changed files (hydro-ci matrix) -----------------------------------------------------------


def merge_base(path: Path | str, ref: str, other: str = "HEAD") -> str:
    """The commit ``ref`` and ``other`` share; a ref that does not exist here is a clear error."""
    if run_git(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], path, check=False).returncode != 0:
        raise GitError(f"git ref {ref!r} does not exist in {path}",
                       hint="fetch it first (actions/checkout: fetch-depth: 0), or name another ref")
    return git_output(["merge-base", ref, other], path)


def changed_files(path: Path | str, since: str) -> list[str]:
    """Files (relative to the repository root) changed since the merge base with ``since``: commits,
    uncommitted edits and untracked files, both sides of a rename."""
    base = merge_base(path, since)
    diff = run_git(["diff", "--name-only", "--no-renames", "-z", base], path).stdout
    untracked = run_git(["ls-files", "--others", "--exclude-standard", "--full-name", "-z", ":/"],
                        path).stdout
    # os.fsdecode: a file name that is not UTF-8 maps back to the same bytes (surrogateescape)
    names = {os.fsdecode(n) for n in (diff + untracked).split(b"\0") if n}
    return sorted(names)


# Transports a URL read from elsewhere (a provenance statement) may use: never ext:: (runs commands).
SAFE_PROTOCOLS = "file:git:http:https:ssh"


def clone_at(source: str, commit: str, into: Path) -> None:
    """Clone ``source`` (a URL or a directory) into ``into`` and check out ``commit`` (detached).

    ``source`` and ``commit`` may come from untrusted data: only the transports in SAFE_PROTOCOLS
    are allowed, and neither can be taken for an option.
    """
    if source.startswith("-") or commit.startswith("-"):
        raise GitError(f"refusing to clone {source!r} at {commit!r}: looks like an option")
    env = {"GIT_ALLOW_PROTOCOL": SAFE_PROTOCOLS}
    run_git(["clone", "--quiet", "--no-checkout", "--", source, str(into)], into.parent, env=env)
    if run_git(["cat-file", "-e", f"{commit}^{{commit}}"], into, check=False).returncode != 0:
        run_git(["fetch", "--quiet", "origin", commit], into, env=env)
    run_git(["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit], into)
