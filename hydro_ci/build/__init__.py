"""Builders: a rendered ``BuildContext`` → an image (ko's ``build.Interface``), nothing more.

``oci`` builds without a daemon (``build.oci``); ``docker`` builds on the Docker engine
(``build.engine``) and hands its image back through ``image.daemon``. Either way the result is an
image the publishers take (``hydro_ci.publish``: registry, OCI layout, docker-archive, engine) and a
``BuildResult`` record saying what was built (``build.api``). ``make_builder`` is the one place that
picks the implementation, from typed options.
"""

from __future__ import annotations

from hydro_ci.build.api import (
    BaseRecord,
    Builder,
    BuildRequest,
    BuildResult,
    Built,
    EngineOptions,
    LayerRecord,
    OCIOptions,
)
from hydro_ci.build.engine import EngineBuilder
from hydro_ci.build.oci import OCIBuilder
from hydro_ci.errors import UsageError

BUILDERS = ("oci", "docker")
DEFAULT_BUILDER = "oci"  # daemonless and byte-reproducible: the default of every verb


def make_builder(kind: str, options: OCIOptions | EngineOptions | None = None) -> Builder:
    """The one place that decides which builder implementation is used."""
    if kind == "oci" and isinstance(options, OCIOptions | None):
        return OCIBuilder(options or OCIOptions())
    if kind == "docker" and isinstance(options, EngineOptions | None):
        return EngineBuilder(options or EngineOptions())
    if kind in BUILDERS:
        raise UsageError(f"the {kind} builder does not take {type(options).__name__}")
    raise UsageError(f"unknown builder {kind!r}", hint=f"use one of: {', '.join(BUILDERS)}")


__all__ = ["BUILDERS", "DEFAULT_BUILDER", "BaseRecord", "BuildRequest", "BuildResult", "Builder", "Built",
           "EngineOptions", "LayerRecord", "OCIOptions", "make_builder"]
