"""One root for every error hydro-ci raises on purpose.

The CLI renders these once (``error: …`` and ``hint: …``) and exits with ``exit_code``:
1 for a problem the user can fix, 2 for a usage error. Anything else escaping is a bug (exit 3).
Subclasses carry data; ``str()`` is one readable line. Never put a credential in a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hydro_ci.diagnostics import Problem


class HydroCIError(Exception):
    """Root of all expected errors: a one-line message and an optional hint."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(HydroCIError):
    """The command line itself is wrong (bad flag combination, missing path)."""

    exit_code = 2


class MissingExtraError(UsageError):
    """An optional feature needs a package that is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs an optional dependency that is not installed",
            hint=f"pip install 'hydro-ci[{extra}]'",
        )
        self.extra = extra


class ProblemsError(HydroCIError):
    """Validation found one or more located problems; each is rendered on its own line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0].render() if problems else "no problems"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)
        self.problems = list(problems)


class ContractError(HydroCIError):
    """A contract is malformed or cannot be converted (outside of folder validation)."""


class ModelFileError(HydroCIError):
    """A model file cannot be read to infer a contract."""


class NoModelInFileError(ModelFileError):
    """A file of a model format that holds no model (a Keras `.h5` of weights only)."""


class RegistryError(HydroCIError):
    """A registry answered with an error or could not be reached (after retries)."""


class AuthError(RegistryError):
    """The registry refused our credentials or demands some we do not have."""


class CredentialsError(RegistryError):
    """Credentials could not be read (docker config, credential helper)."""


class NotFoundError(RegistryError):
    """A repository, manifest or blob does not exist in the registry."""


class TagExistsError(RegistryError):
    """An immutable (version) tag already holds another digest."""

    def __init__(self, reference: str, existing: str, wanted: str) -> None:
        super().__init__(
            f"{reference} already holds {existing}, not {wanted}; version tags are never reused",
            hint="bump the version (hydro-ci version next) instead of overwriting a released tag",
        )
        self.reference = reference
        self.existing = existing
        self.wanted = wanted


class InsecureRegistryError(UsageError):
    """--insecure (plain HTTP) asked for a registry that is not on this machine."""


class TemplateError(HydroCIError):
    """A Dockerfile template cannot be loaded or rendered; the message names file and line."""


class UnsafeValueError(HydroCIError):
    """A value from serving.yaml would change the Dockerfile's structure (newline, continuation…)."""


class ContextError(HydroCIError):
    """The build context cannot be assembled (payload path missing, no contract, …)."""


class EngineError(HydroCIError):
    """The Docker engine failed a build or push for a reason not covered by a subclass."""


class EngineUnavailableError(EngineError):
    """No Docker engine answers at DOCKER_HOST (or the default socket)."""


class BaseImageMissingError(EngineError):
    """The runtime base image is neither in the engine nor pullable."""


class InstallCommandError(EngineError):
    """The install-command exited non-zero inside the build."""

    def __init__(self, message: str, *, exit_code: int | None, output_tail: list[str],
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.command_exit_code = exit_code
        self.output_tail = output_tail


class OutputPathError(HydroCIError):
    """An output path is, or passes through, a symbolic link (hydro-ci never writes through one)."""
