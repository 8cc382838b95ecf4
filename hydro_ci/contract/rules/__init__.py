"""The rules a model folder must pass, one module per family; each is a plain function
``Declared -> list[Problem]`` (``contract.reader.Rule``), and a new rule is one more function here.

- ``legacy``: an older Hydrosphere format read as today's (one warning)
- ``folder``: name, runtime, install command, payload entries
- ``signature``: each declared signature, and serving.yaml agreeing with contract.prototxt
- ``python``: the python runtime's ``src/func_main.py``, read as an AST
- ``settings``: the ``hydro-ci:`` section
- ``model_files``: the declared contract against the model files (the caller passes inference in)
"""

from __future__ import annotations

from hydro_ci.contract.reader import Rule
from hydro_ci.contract.rules.folder import check_install_command, check_name, check_payload, check_runtime
from hydro_ci.contract.rules.legacy import check_legacy_format
from hydro_ci.contract.rules.model_files import ModelFiles, model_file_rules
from hydro_ci.contract.rules.python import check_signature_function
from hydro_ci.contract.rules.settings import check_settings
from hydro_ci.contract.rules.signature import check_contract_agreement, check_signatures

__all__ = ["FOLDER_RULES", "ModelFiles", "Rule", "rules_for"]

# What every load of a folder applies, besides the model-file rules.
FOLDER_RULES: tuple[Rule, ...] = (
    check_legacy_format,
    check_name,
    check_runtime,
    check_install_command,
    check_payload,
    check_signatures,
    check_contract_agreement,
    check_signature_function,
    check_settings,
)


def rules_for(model_files: ModelFiles, *, build: bool = False) -> tuple[Rule, ...]:
    """Every rule of a load; ``build`` adds what an image build needs beyond a folder that loads
    (a contract, declared or read from the model files), as ``contract check`` does: commands that
    need no contract (show, version next --bump X, the breaking hook) still load without it."""
    return FOLDER_RULES + model_file_rules(model_files, build=build)
