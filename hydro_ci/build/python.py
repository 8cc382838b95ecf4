"""The runtime's Python ``X.Y``: what the daemonless builder's pip picks wheels for.

pip runs on the build machine, so it must be told the interpreter the *runtime* has, else it installs
wheels for the build machine's Python. Decided in one place (build, pipeline and release plan):

1. the base image's config: ``PYTHON_VERSION`` in its env (the official python images set it);
2. else the runtime's name: ``python-3.7``, ``python3.10``, ``python:3.12-slim``, ``py37``, ``py310``…;
3. else ``--python-version``; else ``DEFAULT_PYTHON``.

An explicit ``--python-version`` that contradicts (1) or (2) is a usage error, never a silent choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hydro_ci.errors import UsageError
from hydro_ci.image.model import ImageConfig

DEFAULT_PYTHON = "3.11"

_VERSION = re.compile(r"(\d)\.(\d{1,2})(?:\.\d+)?(?:[a-z]+\d*)?")  # 3.7, 3.7.9, 3.13.0rc1
# In a name: "py" or "python" (not the tail of another word, "numpy37"), an optional separator,
# the major digit, an optional dot, one or two minor digits: python-3.7, python3.10, py37, py310.
_IN_NAME = re.compile(r"(?<![a-z0-9])c?py(?:thon)?[-_:.]?([23])\.?(\d{1,2})(?!\d)")


@dataclass(frozen=True)
class RuntimePython:
    version: str  # "X.Y"
    source: str  # what decided it, for people: "the base's PYTHON_VERSION=3.7.9", …


def check_python_version(text: str) -> str:
    """``text`` as ``X.Y`` (``3.10.4`` → ``3.10``); UsageError when it is not a Python version."""
    m = _VERSION.fullmatch(text.strip())
    if not m:
        raise UsageError(f"--python-version {text!r} is not a Python version", hint="give X.Y, e.g. 3.10")
    return f"{m.group(1)}.{m.group(2)}"


def python_in_name(name: str) -> str | None:
    """The ``X.Y`` a runtime's name carries (``hydrosphere/serving-runtime-python-3.7:3.0.0`` → 3.7)."""
    for m in _IN_NAME.finditer(name.lower()):
        major, minor = int(m.group(1)), int(m.group(2))
        # A runtime's own version can follow "python" too (``runtime-python:3.0.0``): only a Python
        # that had wheels (2.7, 3.6 and later) counts.
        if (major, minor) == (2, 7) or (major == 3 and minor >= 6):
            return f"{major}.{minor}"
    return None


def runtime_python(base: ImageConfig, runtime: str, given: str | None = None) -> RuntimePython:
    """The Python of the runtime ``runtime`` (its name) whose image config is ``base``.

    ``given``: ``--python-version``, used when neither the config nor the name says, refused when one
    says otherwise.
    """
    wanted = check_python_version(given) if given else None
    env = base.env_value("PYTHON_VERSION")
    m = _VERSION.match(env.strip()) if env else None
    if m:
        found, source = f"{m.group(1)}.{m.group(2)}", f"the base's PYTHON_VERSION={env}"
        hint = "drop --python-version (the base's config decides), or build on a base with that Python"
    elif (named := python_in_name(runtime)) is not None:
        found, source = named, f"the runtime's name {runtime}"
        hint = "drop --python-version (the runtime's name decides), or name a runtime with that Python"
    elif wanted:
        return RuntimePython(wanted, "--python-version")
    else:
        return RuntimePython(DEFAULT_PYTHON, "the default: neither the base's config nor the runtime's "
                                             "name says; --python-version sets it")
    if wanted and wanted != found:
        raise UsageError(f"--python-version {wanted} contradicts {source} (Python {found})", hint=hint)
    return RuntimePython(found, source)
