"""The Docker engine as a builder: a rendered context built through the docker SDK, handed back as
the engine's image (``image.daemon.DaemonImage``) for the publishers.

``docker.from_env()`` honours DOCKER_HOST (and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), so a remote or a
BuildKit-backed engine is used the same way. Build output is streamed as JSON lines and turned into
progress events; engine failures become our typed errors right here. The image is built untagged:
tags are a publisher's to set (``publish.engine``), after the registry accepted them when pushing,
so a refused push moves no local tag.
"""

from __future__ import annotations

import binascii
import logging
import re
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import requests

from hydro_ci.build.api import BaseRecord, BuildRequest, BuildResult, Built, EngineOptions, LayerRecord
from hydro_ci.cache import cache_dir
from hydro_ci.errors import (
    BaseImageMissingError,
    ContextError,
    EngineError,
    EngineUnavailableError,
    InstallCommandError,
    UsageError,
)
from hydro_ci.image.daemon import DaemonImage, connect, docker_config_error
from hydro_ci.progress import Progress, ProgressEvent, no_progress
from hydro_ci.registry.client import registry_of
from hydro_ci.registry.credentials import Credentials
from hydro_ci.render.context import LAYER_ORDER, BuildContext, symlinked_files

log = logging.getLogger(__name__)

TAIL_LINES = 15  # lines of install-command output kept for the error
_STEP = re.compile(r"^Step \d+/\d+ : (\w+)")
_NONZERO = re.compile(r"returned a non-zero code: (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # pip colours its warnings even without a TTY
_ENGINE_CHATTER = re.compile(r"^( ---> |Removing intermediate container |Successfully (built|tagged) )")


class EngineBuilder:
    name = "docker"

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self._client = options.client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect()
        return self._client

    # --- build ---------------------------------------------------------------------------------

    def build(self, request: BuildRequest, progress: Progress = no_progress) -> Built:
        ctx = request.context
        if ctx.model_version not in (None, request.version):
            raise UsageError(f"the context in {ctx.root} was rendered for version {ctx.model_version}, "
                             f"not {request.version}", hint="render it again with the version you build")
        if linked := symlinked_files(ctx):
            # docker build sends a symlink as a symlink: the image would hold links to this machine.
            raise ContextError(
                f"the context in {ctx.root} links {len(linked)} large payload file(s) to the model "
                f"folder (rendered for the oci builder), e.g. {linked[0]}; the engine cannot follow links",
                hint="render it again with --builder docker, which copies every file")
        self._client = connect(self._client)  # fail first, before any progress, when there is no engine
        self.ensure_base(ctx.base_image, progress)
        progress(ProgressEvent("build", f"building {request.image}:{request.version} from {ctx.root}"))
        # Untagged: the publishers set the tags (after the registry accepted them, when pushing).
        stream = self._api_call(
            lambda api: api.build(path=str(ctx.root), dockerfile="Dockerfile", tag=None, rm=True,
                                  forcerm=True, decode=True, pull=False),
            "build",
        )
        image_id = self._follow_build(stream, progress, ctx.install_command)
        progress(ProgressEvent("build", f"built {image_id}"))
        image = DaemonImage(image_id, self.options.cache or cache_dir(), client=self.client)
        result = BuildResult(builder=self.name, image=request.image, version=request.version, id=image_id,
                             config_digest=image_id, base=BaseRecord(ctx.base_image),
                             layers=context_layers(ctx))
        return Built(image, result)

    def ensure_base(self, base: str, progress: Progress = no_progress) -> None:
        """The base must be in the engine; pull it when allowed, else say how to point elsewhere."""
        import docker  # start-up time: the docker SDK is slow to import

        if base == "scratch":
            return
        try:
            self.client.api.inspect_image(base)
            return
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError as exc:
            raise EngineError(f"engine failed to inspect {base}: {exc.explanation or exc}") from None
        missing = BaseImageMissingError(
            f"base image {base} is not in the engine and cannot be pulled",
            hint="docker pull/load it first, or use --base-image REF to build on another runtime",
        )
        if not self.options.pull_base:
            raise missing
        progress(ProgressEvent("pull", f"pulling base image {base}"))
        try:
            auth = _auth_config(self.options.keychain.resolve(registry_of(base)))
            for line in self.client.api.pull(base, stream=True, decode=True, auth_config=auth):
                if "error" in line:
                    raise missing
        except docker.errors.APIError:
            raise missing from None

    def _follow_build(self, stream: Iterable[dict[str, Any]], progress: Progress,
                      install_command: str | None) -> str:
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        step = ""
        image_id = ""
        for chunk in _safe_iter(stream, "build"):
            text = chunk.get("stream")
            if isinstance(text, str):
                for line in _ANSI.sub("", text).splitlines():
                    line = line.rstrip()
                    if not line:
                        continue
                    m = _STEP.match(line)
                    if m:
                        step = m.group(1).upper()
                        tail.clear()
                    elif not _ENGINE_CHATTER.match(line):
                        tail.append(line)  # the command's own output, for the error message
                    if line.startswith("Successfully built "):
                        image_id = image_id or line.split()[-1]
                    progress(ProgressEvent("build", line))
            aux = chunk.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                image_id = aux["ID"]
            if "error" in chunk or "errorDetail" in chunk:
                raise self._build_error(chunk, step, list(tail), install_command)
        if not image_id:
            raise EngineError("the engine finished the build without reporting an image id",
                              hint="run docker build on the context directory to see what happened")
        if not image_id.startswith("sha256:"):
            image_id = self.client.api.inspect_image(image_id)["Id"]
        return str(image_id)

    @staticmethod
    def _build_error(chunk: dict[str, Any], step: str, tail: list[str],
                     install_command: str | None) -> EngineError:
        detail = chunk.get("errorDetail") or {}
        message = str(detail.get("message") or chunk.get("error") or "build failed").strip()
        m = _NONZERO.search(message)
        if step == "RUN" and m:
            code = int(detail.get("code") or m.group(1))
            last = " | ".join(tail[-5:]) or "(no output)"
            return InstallCommandError(
                f"install-command {install_command!r} failed with exit code {code}: {last}",
                exit_code=code, output_tail=tail,
                hint="fix the command or its inputs in serving.yaml; try it in the runtime image "
                     "(docker run -it BASE sh)",
            )
        if step == "FROM" or "pull access denied" in message or "manifest unknown" in message:
            return BaseImageMissingError(
                f"base image missing: {message.splitlines()[0]}",
                hint="docker pull/load it first, or use --base-image REF to build on another runtime",
            )
        return EngineError(f"engine build failed at {step or 'start'}: {message.splitlines()[0]}",
                           hint="see the build output above; the rendered context can be built with "
                                "docker build to reproduce")

    def _api_call(self, call: Any, what: str) -> Any:
        import docker  # start-up time: the docker SDK is slow to import
        from docker.credentials.errors import StoreError

        try:
            return call(self.client.api)
        except (StoreError, binascii.Error) as exc:
            raise docker_config_error(exc, what) from None
        except docker.errors.APIError as exc:
            raise EngineError(f"engine refused the {what}: {exc.explanation or exc}") from None
        except requests.RequestException as exc:
            raise EngineUnavailableError(f"lost the Docker engine during {what}: {exc}",
                                         hint="check that dockerd is running and DOCKER_HOST") from None


def _safe_iter(stream: Iterable[dict[str, Any]], what: str) -> Iterator[dict[str, Any]]:
    import docker  # start-up time: the docker SDK is slow to import

    try:
        yield from stream
    except docker.errors.APIError as exc:
        raise EngineError(f"engine failed during {what}: {exc.explanation or exc}") from None
    except requests.RequestException as exc:
        raise EngineUnavailableError(f"lost the Docker engine during {what}: {exc}",
                                     hint="check that dockerd is running and DOCKER_HOST") from None


def context_layers(context: BuildContext) -> tuple[LayerRecord, ...]:
    """The layer classes of a context (the engine makes its own layers from the Dockerfile)."""
    out = []
    for klass in LAYER_ORDER:
        files = context.files_in(klass)
        if files:
            out.append(LayerRecord(klass.value, len(files), size=sum(f.size for f in files)))
    return tuple(out)


def _auth_config(credentials: Credentials | None) -> dict[str, str] | None:
    """The engine's X-Registry-Auth for ``credentials``: our keychain's answer, not the SDK's own."""
    if credentials is None:
        return None
    if credentials.identity_token:
        return {"identitytoken": credentials.identity_token}
    return {"username": credentials.username, "password": credentials.password}
