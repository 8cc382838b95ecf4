"""A model folder read and checked in full: the contract's rules and the model-file rules.

``contract.serving`` reads a folder and applies the rules it is given; the model-file rules compare
with inference, which sits above ``contract/``, so this module composes the two. Every command that
loads a model folder comes through here, so all of them apply the same rules.
``load_model_folder`` gives one Model (a serving file may declare several, ``model`` names which)
or raises ``ProblemsError`` with every problem; ``check_model_folder`` returns the problems of every
Model. Both accept the folder or a file inside it.
"""

from __future__ import annotations

from pathlib import Path

from hydro_ci.contract import rules
from hydro_ci.contract.model import ModelFolder
from hydro_ci.contract.serving import FolderRead, read_folder
from hydro_ci.diagnostics import Problem
from hydro_ci.errors import ProblemsError
from hydro_ci.infer import folder_problems, undeclared_problem

MODEL_FILES = rules.ModelFiles(compare=folder_problems, undeclared=undeclared_problem)


def folder_rules(*, build: bool = False) -> tuple[rules.Rule, ...]:
    """Every rule of a load, the model-file ones included; ``build`` adds what building an image
    needs beyond a folder that loads (a contract, declared or read from the model files), as
    ``contract check`` and the pipeline's check stage ask."""
    return rules.rules_for(MODEL_FILES, build=build)


def read_model_folder(path: Path | str, *, build: bool = False) -> FolderRead:
    """Every Model the folder declares (one per Model document of its serving file) and every
    problem found, each Model's included."""
    return read_folder(Path(path), folder_rules(build=build))


def check_model_folder(path: Path | str, *, build: bool = False) -> list[Problem]:
    """Every problem of the model folder at ``path`` (a folder or a file inside it), of each of its
    Models; with ``build`` also what an image build needs (what ``hydro-ci contract check`` reports)."""
    return read_model_folder(path, build=build).problems


def load_model_folder(path: Path | str, *, build: bool = False, model: str | None = None) -> ModelFolder:
    """The validated model at ``path``: the Model document named ``model``, which may be left out
    when the folder holds one (``UsageError`` naming the choices otherwise); ``ProblemsError``
    listing every problem of the folder's files and of that Model otherwise."""
    declared, problems = read_model_folder(path, build=build).select(model)
    errors = [p for p in problems if p.is_error]
    if errors or declared is None:
        raise ProblemsError(errors or problems)
    return declared.model_folder()
