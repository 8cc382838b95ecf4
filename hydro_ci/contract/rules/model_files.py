"""Rules about the model files: the declared contract against the one read from them, and a
contract to build with when none is declared.

Reading model files is inference's (``hydro_ci.infer``), which sits above ``contract/``: the caller
passes it in as a ``ModelFiles`` (``infer.check.MODEL_FILES``), so these rules import nothing above
them. Inference reads bytes only: no ML framework is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hydro_ci.contract.model import ModelFolder
from hydro_ci.contract.pairing import Key
from hydro_ci.contract.reader import Declared, Rule
from hydro_ci.diagnostics import Location, Problem
from hydro_ci.folder import PROTOTXT_FILE


@dataclass(frozen=True)
class ModelFiles:
    """What these rules need from inference."""

    # the folder's declared contract against its model files; the callable locates a declared key
    compare: Callable[[ModelFolder, Callable[[Key], Location]], list[Problem]]
    # for a model declaring no contract: the problem when none can be read either (at the Location;
    # the Path: its folder as messages name it)
    undeclared: Callable[[ModelFolder, Path, Location], Problem | None]


def model_file_rules(model_files: ModelFiles, *, build: bool) -> tuple[Rule, ...]:
    """The rules over ``model_files``; ``build`` adds what an image build needs (a contract)."""

    def check_model_files(d: Declared) -> list[Problem]:
        """The declared contract against the model files."""
        source = d.contract_source
        if source is None or not source.valid:
            return []
        return model_files.compare(d.model_folder(), source.locate)

    def check_contract_available(d: Declared) -> list[Problem]:
        """A folder that declares no contract must have one that can be read from its model files:
        the image carries a contract (/model/contract.protobin), so the build would stop at its
        contract stage."""
        if d.contract_source is not None or d.contract_written or d.serving_location is None:
            return []  # declared (or its declaration is broken and reported where it is written)
        if os.path.lexists(d.root / PROTOTXT_FILE):
            return []  # a contract.prototxt that does not read: reported by its own problems
        problem = model_files.undeclared(d.model_folder(), Path(d.display), d.serving_location)
        return [] if problem is None else [problem]

    return (check_model_files, check_contract_available) if build else (check_model_files,)
