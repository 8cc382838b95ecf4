"""The ``hydro-ci-contract-breaking`` pre-commit hook: no breaking contract change by accident.

For every model folder a changed file belongs to, the folder's declared contract is compared with
the one at a git ref (``HEAD`` before a commit; ``$PRE_COMMIT_FROM_REF`` when pre-commit runs over a
range in CI) by the contract diff of ``hydro_ci.contract.diff``. A breaking change fails, unless the
folder says it is intended in serving.yaml::

    hydro-ci:
      breaking-change: intended     # remove it once released; the next diff is against this one

A folder that is new (no contract at the ref) has nothing to break.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hydro_ci import git
from hydro_ci.contract.diff import DiffConfig, diff_contracts
from hydro_ci.contract.rules.settings import BREAKING_CHANGE, INTENDED, breaking_change_intended
from hydro_ci.diagnostics import Location, Problem, Severity
from hydro_ci.folder import CONFIG_KEY, PROTOTXT_FILE, SERVING_FILE, find_model_folders, serving_file
from hydro_ci.infer.check import load_model_folder
from hydro_ci.version.contracts import contract_at_git_ref

RULE = "contract-breaking"


@dataclass(frozen=True)
class FolderVerdict:
    folder: Path
    against: str
    summary: str | None  # breaking | additive | patch; None when there is nothing to compare
    intended: bool
    changes: tuple[dict[str, str], ...]

    @property
    def fails(self) -> bool:
        return self.summary == "breaking" and not self.intended


def default_ref(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("PRE_COMMIT_FROM_REF") or "HEAD"


def model_folders(files: Iterable[Path]) -> list[Path]:
    """The model folders the given files (or folders) name, found as every command finds them."""
    return sorted({folder.resolve() for f in files for folder in find_model_folders(f)})


def check_folder(folder: Path, against: str) -> FolderVerdict:
    repo = git.repo_root(folder).resolve()
    rel = folder.relative_to(repo).as_posix()
    old = contract_at_git_ref(repo, against, rel)
    loaded = load_model_folder(folder)
    config = loaded.config or {}
    marked = breaking_change_intended(config)
    if old is None or loaded.contract is None:
        return FolderVerdict(folder, against, None, marked, ())
    result = diff_contracts(old, loaded.contract, DiffConfig.from_config(config))
    return FolderVerdict(folder, against, result.summary.name, marked,
                         tuple(c.to_dict() for c in result.changes))


def shown(path: Path) -> Path:
    """Relative to the working directory when inside it: GitHub annotations need repository paths."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def problems(verdicts: Iterable[FolderVerdict]) -> list[Problem]:
    out = []
    for v in verdicts:
        if v.summary != "breaking":
            continue
        serving = serving_file(v.folder)
        where = shown(serving or v.folder / PROTOTXT_FILE)
        to = serving.name if serving else SERVING_FILE
        rules = ", ".join(sorted({c["rule"] for c in v.changes if c.get("class") == "breaking"}))
        if v.intended:
            out.append(Problem(Location(str(where)), f"breaking contract change against {v.against} "
                               f"({rules}), marked intended", RULE, Severity.WARNING))
            continue
        out.append(Problem(
            Location(str(where)),
            f"breaking contract change against {v.against} ({rules}); if it is intended, add "
            f"'{CONFIG_KEY}: {{{BREAKING_CHANGE}: {INTENDED}}}' to {to}",
            RULE,
        ))
    return out
