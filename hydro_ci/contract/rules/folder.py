"""Rules about the folder itself: its name, runtime, install command and payload entries
(resolved and laid out by ``contract.payload``, as Hydrosphere did)."""

from __future__ import annotations

import re

from hydro_ci.contract.payload import layout
from hydro_ci.contract.reader import Declared
from hydro_ci.diagnostics import Problem
from hydro_ci.reference import ReferenceError, parse_reference

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def check_name(d: Declared) -> list[Problem]:
    if NAME_RE.match(d.name):
        return []
    where = "" if d.serving else " (the folder name; set name: in serving.yaml)"
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
    """Each entry resolved and laid out as Hydrosphere did (hydro_ci.contract.payload)."""
    return layout(d.root, d.payload)[1] if d.payload else []
