"""Rules about the folder itself: its name, runtime, install command and payload entries
(resolved and laid out by ``contract.payload``, as Hydrosphere did)."""

from __future__ import annotations

import os
import re

from hydro_ci.contract.payload import (
    IGNORE_FILE,
    PayloadItem,
    Refusal,
    item_payload,
    layout,
    needs_walk,
    shipped,
)
from hydro_ci.contract.reader import Declared
from hydro_ci.diagnostics import Location, Problem
from hydro_ci.errors import ContextError
from hydro_ci.reference import ReferenceError, parse_reference

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_NAME = 128  # a file name holds it with a version (255 bytes), as does a repository path


def check_name(d: Declared) -> list[Problem]:
    where = "" if d.serving else " (the folder name; set name: in serving.yaml)"
    if len(d.name) > MAX_NAME:  # it names files (.hydro-ci/NAME/, dist/NAME-VERSION.oci) and a repository
        return [Problem(d.name_location, f"model name {d.name[:40]!r}…{where} is {len(d.name)} characters "
                        f"long; at most {MAX_NAME}", "bad-name")]
    if NAME_RE.match(d.name):
        return []
    return [Problem(d.name_location, f"model name {d.name!r}{where} must match {NAME_RE.pattern}",
                    "bad-name")]


def check_runtime(d: Declared) -> list[Problem]:
    if d.runtime is None or d.runtime_location is None:
        return []
    try:
        parse_reference(d.runtime, require_tag=True)
    except ReferenceError as exc:
        return [Problem(d.runtime_location, f"runtime {d.runtime!r} is not an image reference with a tag: "
                        f"{exc.reason}", "bad-runtime")]
    return []


def check_install_command(d: Declared) -> list[Problem]:
    cmd, where = d.install_command, d.install_location
    if cmd is None or where is None:
        return []
    if "\x00" in cmd:
        return [Problem(where, "install-command contains a NUL character", "install-command")]
    if "\n" in cmd or "\r" in cmd:
        return [Problem(where, "install-command must be one line (use && to chain; with a folded "
                        "YAML block use '>-' to drop the final newline)", "install-command")]
    if not cmd.strip():
        return [Problem(where, "install-command is empty; remove the key instead", "install-command")]
    return []


def check_payload(d: Declared) -> list[Problem]:
    """Each entry resolved and laid out as Hydrosphere did (hydro_ci.contract.payload), and every file
    it ships one render can ship (a regular file inside its boundary): located at the file."""
    if not d.payload:
        return _shipped_problems(d, None)
    items, problems = layout(d.root, d.payload)
    return problems + (_shipped_problems(d, items) if items else [])


def _shipped_problems(d: Declared, items: list[PayloadItem] | None) -> list[Problem]:
    """What render would refuse among the files the folder ships: links leaving the folder (or the
    repository, for an entry elsewhere in it), to devices or FIFOs, dangling or looping; unreadable or
    too deep folders; odd names."""
    real_root = os.path.realpath(d.root)
    inside = real_root.rstrip("/") + "/"
    outside = [i for i in items or () if os.path.realpath(i.source) != real_root
               and not os.path.realpath(i.source).startswith(inside)]
    if not outside and not needs_walk(d.root):  # the common case: no docker SDK import
        return []
    try:
        folder = shipped(d.root)
        found = [folder] if items is None else [item_payload(d.root, i, folder) for i in items]
    except ContextError as exc:  # a .hydroignore that cannot be read
        return [Problem(Location(f"{d.display}/{IGNORE_FILE}"), exc.message, "payload-ignore-file")]
    seen: dict[str, Refusal] = {}
    for part in found:
        for refusal in part.refusals:
            seen.setdefault(refusal.rel, refusal)
    return [Problem(Location(f"{d.display}/{r.rel}" if r.rel != "." else d.display), f"{r.message}; {r.hint}",
                    r.rule) for _, r in sorted(seen.items())]
