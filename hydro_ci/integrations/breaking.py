"""The ``hydro-ci-contract-breaking`` pre-commit hook: no breaking contract change by accident.

For every model folder a changed file belongs to, the declared contract of each of its Models is
compared with the one of the Model of the same name at a git ref (``HEAD`` before a commit;
``$PRE_COMMIT_FROM_REF`` when pre-commit runs over a range in CI) by the contract diff of
``hydro_ci.contract.diff``. A breaking change fails, unless the Model says it is intended::

    hydro-ci:
      breaking-change: intended     # remove it once released; the next diff is against this one

A folder or Model that is new (no contract at the ref) has nothing to break.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hydro_ci import git
from hydro_ci.contract.diff import DiffConfig, diff_contracts
from hydro_ci.contract.reader import Declared
from hydro_ci.contract.rules.settings import BREAKING_CHANGE, INTENDED, breaking_change_intended
from hydro_ci.diagnostics import Location, Problem, Severity
from hydro_ci.folder import CONFIG_KEY, PROTOTXT_FILE, SERVING_FILE, find_model_folders, serving_file
from hydro_ci.infer.check import load_model_folder, read_model_folder
from hydro_ci.version.contracts import contract_at_git_ref

RULE = "contract-breaking"


@dataclass(frozen=True)
class FolderVerdict:
    folder: Path
    against: str
    summary: str | None  # breaking | additive | patch; None when there is nothing to compare
    intended: bool
    changes: tuple[dict[str, str], ...]
    model: str | None = None  # the Model, when the folder's serving file holds several
    line: int = 0  # where that Model's document starts

    @property
    def fails(self) -> bool:
        return self.summary == "breaking" and not self.intended


def default_ref(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("PRE_COMMIT_FROM_REF") or "HEAD"


def model_folders(files: Iterable[Path]) -> list[Path]:
    """The model folders the given files (or folders) name, found as every command finds them."""
    return sorted({folder.resolve() for f in files for folder in find_model_folders(f)})


def check_folder(folder: Path, against: str) -> list[FolderVerdict]:
    """A verdict for each Model of the folder: each against the Model of the same name at ``against``
    (a serving file may hold several; each is released on its own)."""
    repo = git.repo_root(folder).resolve()
    rel = folder.relative_to(repo).as_posix()
    models: list[Declared | None] = list(read_model_folder(folder).models)
    several = len(models) > 1
    verdicts = []
    for declared in models or [None]:  # none: the folder does not read, and loading says why
        name = declared.name if several and declared is not None else None
        loaded = load_model_folder(folder, model=name)
        old = contract_at_git_ref(repo, against, rel, loaded.name)
        config = loaded.config or {}
        marked = breaking_change_intended(config)
        line = declared.serving_location.line if several and declared and declared.serving_location else 0
        if old is None or loaded.contract is None:
            verdicts.append(FolderVerdict(folder, against, None, marked, (), name, line))
            continue
        result = diff_contracts(old, loaded.contract, DiffConfig.from_config(config))
        verdicts.append(FolderVerdict(folder, against, result.summary.name, marked,
                                      tuple(c.to_dict() for c in result.changes), name, line))
    return verdicts


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
        where = Location(str(shown(serving or v.folder / PROTOTXT_FILE)), v.line)
        to = serving.name if serving else SERVING_FILE
        if v.model is not None:
            to = f"Model {v.model!r} in {to}"
        of = f" of Model {v.model!r}" if v.model is not None else ""
        rules = ", ".join(sorted({c["rule"] for c in v.changes if c.get("class") == "breaking"}))
        if v.intended:
            out.append(Problem(where, f"breaking contract change{of} against {v.against} "
                               f"({rules}), marked intended", RULE, Severity.WARNING))
            continue
        out.append(Problem(
            where,
            f"breaking contract change{of} against {v.against} ({rules}); if it is intended, add "
            f"'{CONFIG_KEY}: {{{BREAKING_CHANGE}: {INTENDED}}}' to {to}",
            RULE,
        ))
    return out
