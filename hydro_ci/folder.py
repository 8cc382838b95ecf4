"""A model folder as data: what ``serving.yaml`` (and ``contract.prototxt``) declare.

``load_model_folder`` reads and validates a folder and raises ``ProblemsError`` listing every
problem; ``check_model_folder`` returns the problems instead. Both are implemented by the
contract loaders (``hydro_ci.contract.serving``); this module only holds the data they produce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydro_ci.contract.model import Contract

SERVING_FILE = "serving.yaml"
SERVING_FILES = (SERVING_FILE, "serving.yml")  # hs 2.x read both extensions
PROTOTXT_FILE = "contract.prototxt"
CONFIG_KEY = "hydro-ci"  # our own section in serving.yaml (template, tag format, …)


@dataclass(frozen=True)
class ModelFolder:
    root: Path
    name: str
    runtime: str | None = None
    install_command: str | None = None
    payload: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    # Declared contract (serving.yaml and/or contract.prototxt), None when only inference can tell.
    contract: Contract | None = None
    # The `hydro-ci:` section of serving.yaml, as written.
    config: dict[str, Any] = field(default_factory=dict)
    # Hydrosphere platform keys we accept and carry but do not build on (training-data, monitoring…).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_python_runtime(self) -> bool:
        return self.runtime is not None and "python" in self.runtime.split("@")[0].lower()
