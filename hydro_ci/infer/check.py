"""A model folder read and checked in full: the contract's rules and the model-file rules.

``contract.serving`` reads a folder and applies the rules it is given; the model-file rules compare
with inference, which sits above ``contract/``, so this module composes the two. Every command that
loads a model folder comes through here, so all of them apply the same rules.
``load_model_folder`` raises ``ProblemsError`` with every problem; ``check_model_folder`` returns
them. Both accept the folder or a file inside it.
"""

from __future__ import annotations

from pathlib import Path

from hydro_ci.contract import rules
from hydro_ci.contract.model import ModelFolder
from hydro_ci.contract.reader import Declared
from hydro_ci.contract.serving import read_folder
from hydro_ci.diagnostics import Problem
from hydro_ci.errors import ProblemsError
from hydro_ci.infer import folder_problems, undeclared_problem

MODEL_FILES = rules.ModelFiles(compare=folder_problems, undeclared=undeclared_problem)


def folder_rules(*, build: bool = False) -> tuple[rules.Rule, ...]:
    """Every rule of a load, the model-file ones included; ``build`` adds what building an image
    needs beyond a folder that loads (a contract, declared or read from the model files), as
    ``contract check`` and the pipeline's check stage ask."""
    return rules.rules_for(MODEL_FILES, build=build)


def read_model_folder(path: Path | str, *, build: bool = False) -> tuple[Declared | None, list[Problem]]:
    """What the folder declares (None when unreadable) and every problem found, sorted by place."""
    return read_folder(Path(path), folder_rules(build=build))


def check_model_folder(path: Path | str, *, build: bool = False) -> list[Problem]:
    """Every problem of the model folder at ``path`` (a folder or a file inside it); with ``build``
    also what an image build needs (what ``hydro-ci contract check`` reports)."""
    return read_model_folder(path, build=build)[1]


def load_model_folder(path: Path | str, *, build: bool = False) -> ModelFolder:
    """The validated model folder at ``path``; ``ProblemsError`` listing every problem otherwise."""
    declared, problems = read_model_folder(path, build=build)
    errors = [p for p in problems if p.is_error]
    if errors or declared is None:
        raise ProblemsError(errors or problems)
    return declared.model_folder()
