"""The Docker engine edge: build a rendered context and push the image, through the docker SDK.

``docker.from_env()`` honours DOCKER_HOST (and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), so a remote or a
BuildKit-backed engine is used the same way. Build output is streamed as JSON lines and turned into
progress events; engine failures become our typed errors right here.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.build import (
    BuildRequest,
    BuildResult,
    Credentials,
    Progress,
    ProgressEvent,
    PushResult,
    no_progress,
)
from hydro_ci.errors import (
    AuthError,
    BaseImageMissingError,
    ContextError,
    EngineError,
    EngineUnavailableError,
    InstallCommandError,
    RegistryError,
    TagExistsError,
    UsageError,
)
from hydro_ci.render.context import symlinked_files

log = logging.getLogger(__name__)

TAIL_LINES = 15  # lines of install-command output kept for the error
_STEP = re.compile(r"^Step \d+/\d+ : (\w+)")
_NONZERO = re.compile(r"returned a non-zero code: (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # pip colours its warnings even without a TTY
_ENGINE_CHATTER = re.compile(r"^( ---> |Removing intermediate container |Successfully (built|tagged) )")
_AUTH_WORDS = ("unauthorized", "authentication required", "no basic auth credentials", "denied")


def connect(client: Any = None) -> Any:
    """A docker SDK client that answered a ping, else EngineUnavailableError."""
    import binascii

    import docker
    import requests
    from docker.credentials.errors import StoreError

    host = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
    try:
        client = client or docker.from_env(timeout=600)
        client.ping()
    except (StoreError, binascii.Error) as exc:
        raise docker_config_error(exc, "engine client") from None
    except (docker.errors.DockerException, requests.RequestException) as exc:
        reason = _unreachable_reason(str(exc))
        raise EngineUnavailableError(
            f"no Docker engine reachable at {host}: {reason}",
            hint="start one (sudo systemctl start docker, or dockerd &) or point DOCKER_HOST at one; "
                 "--builder oci needs no engine",
        ) from None
    return client


# The docker SDK also warns on stderr about a missing helper; our one-line error says it already.
warnings.filterwarnings("ignore", message=r"docker-credential-\S+ not installed", category=UserWarning)


def docker_config_error(exc: Exception, what: str) -> EngineError:
    """The docker SDK reads every login in Docker's config.json (at start, and for a build or push):
    a broken entry or a missing credential helper is the user's to fix, not an internal error."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return EngineError(f"cannot read the registry logins in Docker's config.json for the {what}: {first}",
                       hint="fix config.json (DOCKER_CONFIG, ~/.docker) or install its credential "
                            "helper; docker login rewrites an entry")


def _unreachable_reason(text: str) -> str:
    """The gist of a connection failure, without the SDK's nested exception reprs."""
    lowered = text.lower()
    for needle, reason in (("filenotfounderror", "no such socket"), ("no such file", "no such socket"),
                           ("connection refused", "connection refused"), ("permission denied",
                           "permission denied on the socket"), ("timed out", "connection timed out"),
                           ("name or service not known", "unknown host")):
        if needle in lowered:
            return reason
    return text.splitlines()[0][:200] if text else "no answer"


class EngineBuilder:
    name = "docker"

    def __init__(self, client: Any = None, pull_base: bool = True, **_ignored: Any) -> None:
        self._client = client
        self.pull_base = pull_base

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect()
        return self._client

    def _connect(self) -> None:
        self._client = connect(self._client)

    # --- build ---------------------------------------------------------------------------------

    def build(self, request: BuildRequest, progress: Progress = no_progress) -> BuildResult:
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
        self._connect()  # fail first, before any progress, when there is no engine
        self.ensure_base(ctx.base_image, progress)
        primary = f"{request.image}:{request.version}"
        # With a push to follow, build untagged: push() sets the local tags once the registry has
        # accepted the version, so a refused push leaves the local REPO:VERSION alone. (Not a
        # temporary tag: a build whose push never came, or a re-run build stage, would leave it behind.)
        target = None if request.push_follows else primary
        progress(ProgressEvent("build", f"building {primary} from {ctx.root}"))
        stream = self._api_call(
            lambda api: api.build(path=str(ctx.root), dockerfile="Dockerfile", tag=target, rm=True,
                                  forcerm=True, decode=True, pull=False),
            "build",
        )
        image_id = self._follow_build(stream, progress, ctx.install_command)
        if request.push_follows:
            progress(ProgressEvent("build", f"built {image_id} (tagged {request.version} once pushed)"))
            return BuildResult(image=request.image, id=image_id, tags=request.tags, builder=self.name)
        for tag in request.tags[1:]:
            self._api_call(lambda api, t=tag: api.tag(image_id, request.image, t), "tag")
        progress(ProgressEvent("build", f"built {image_id}"))
        return BuildResult(image=request.image, id=image_id, tags=request.tags, builder=self.name)

    def ensure_base(self, base: str, progress: Progress = no_progress) -> None:
        """The base must be in the engine; pull it when allowed, else say how to point elsewhere."""
        import docker

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
        if not self.pull_base:
            raise missing
        progress(ProgressEvent("pull", f"pulling base image {base}"))
        try:
            for line in self.client.api.pull(base, stream=True, decode=True):
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

    # --- push ----------------------------------------------------------------------------------

    def push(self, result: BuildResult, *, credentials: Credentials | None = None,
             progress: Progress = no_progress) -> PushResult:
        """Push every tag; the version tag first, refused if the registry holds other content there.

        The engine pushes local names, so each tag is set locally first, but only after the registry
        check: a refused push moves no tag, local or remote. A push that fails puts back the local
        tags it had moved and not pushed. An image built for the push (``push_follows``) has no tag
        until then.
        """
        return self._push(result, credentials, progress)

    def _push(self, result: BuildResult, credentials: Credentials | None, progress: Progress) -> PushResult:
        from hydro_ci.image.remote import is_immutable_tag

        version, moving = result.tags[0], list(result.tags[1:])
        existing = remote_config_digest(result.image, version, credentials)
        unchanged = existing is not None and existing[1] == result.id
        if existing is not None and not unchanged:
            raise TagExistsError(f"{result.image}:{version}", existing[0], f"image {result.id}")
        # A release-looking extra tag (-t 1.0.0) is as immutable as the version, as in the oci push.
        for tag in [t for t in moving if is_immutable_tag(t)]:
            held = remote_config_digest(result.image, tag, credentials)
            if held is not None and held[1] != result.id:
                raise TagExistsError(f"{result.image}:{tag}", held[0], f"image {result.id}")
            if held is not None:
                moving.remove(tag)  # already this image: nothing to push for it
        auth = {"username": credentials.username, "password": credentials.password} if credentials else None
        digest = existing[0] if existing and unchanged else ""
        moved = self._tag_locally(result)  # the registry agreed: only now may the local tags move
        for tag in ([] if unchanged else [version]) + moving:
            progress(ProgressEvent("push", f"pushing {result.image}:{tag}"))
            try:
                stream = self._api_call(
                    lambda api, t=tag: api.push(result.image, tag=t, stream=True, decode=True,
                                                auth_config=auth),
                    "push",
                )
                digest = self._follow_push(stream, progress, f"{result.image}:{tag}") or digest
            except BaseException:
                self._put_back(result.image, moved)
                raise
            moved.pop(tag, None)  # in the registry now: the local tag stays with it
        if unchanged:
            progress(ProgressEvent("push", f"{result.image}:{version} already holds this image"))
        return PushResult(image=result.image, digest=digest, tags=result.tags, builder=self.name,
                          unchanged=unchanged)

    def _tag_locally(self, result: BuildResult) -> dict[str, str | None]:
        """Point every tag of ``result`` at its image in the engine; {tag: what it named before}."""
        import docker

        moved: dict[str, str | None] = {}
        for tag in result.tags:
            try:
                before: str | None = str(self.client.api.inspect_image(f"{result.image}:{tag}")["Id"])
            except docker.errors.ImageNotFound:
                before = None
            except docker.errors.APIError as exc:
                raise EngineError(f"engine failed to inspect {result.image}:{tag}: "
                                  f"{exc.explanation or exc}") from None
            if before != result.id:
                self._api_call(lambda api, t=tag: api.tag(result.id, result.image, t), "tag")
                moved[tag] = before
        return moved

    def _put_back(self, image: str, moved: dict[str, str | None]) -> None:
        """Undo ``_tag_locally`` for tags that did not reach the registry (best effort: we are failing)."""
        import docker

        for tag, before in moved.items():
            try:
                if before is None:
                    self.client.api.remove_image(f"{image}:{tag}", noprune=True)
                else:
                    self.client.api.tag(before, image, tag)
            except docker.errors.APIError as exc:
                log.warning("could not put back %s:%s: %s", image, tag, exc)

    def _follow_push(self, stream: Iterable[dict[str, Any]], progress: Progress, ref: str) -> str:
        digest = ""
        for chunk in _safe_iter(stream, "push"):
            if "error" in chunk or "errorDetail" in chunk:
                detail = chunk.get("errorDetail") or {}
                message = str(detail.get("message") or chunk.get("error")).strip().splitlines()[0]
                if any(word in message.lower() for word in _AUTH_WORDS):
                    raise AuthError(f"registry refused the credentials for {ref}: {message}",
                                    hint="check --username/--password-stdin or docker login")
                raise RegistryError(f"push of {ref} failed: {message}",
                                    hint="check the registry is reachable from the engine")
            aux = chunk.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
                digest = aux["Digest"]
            status = chunk.get("status")
            if isinstance(status, str):
                pd = chunk.get("progressDetail") or {}
                progress(ProgressEvent("push", f"{chunk.get('id', '')}: {status}".lstrip(": "),
                                       current=pd.get("current"), total=pd.get("total"), id=chunk.get("id")))
        return digest

    def _api_call(self, call: Any, what: str) -> Any:
        import binascii

        import docker
        import requests
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
    import docker
    import requests

    try:
        yield from stream
    except docker.errors.APIError as exc:
        raise EngineError(f"engine failed during {what}: {exc.explanation or exc}") from None
    except requests.RequestException as exc:
        raise EngineUnavailableError(f"lost the Docker engine during {what}: {exc}",
                                     hint="check that dockerd is running and DOCKER_HOST") from None


def remote_config_digest(image: str, tag: str, credentials: Credentials | None) -> tuple[str, str] | None:
    """(manifest digest, config digest) of ``image:tag`` in its registry, None when the tag is free.

    The engine's image id is its config digest, so comparing configs tells "same image" without
    pushing. Uses our registry client with the same credentials the push will use.
    """
    from hydro_ci.errors import NotFoundError
    from hydro_ci.registry.client import client_for

    user = credentials.username if credentials else None
    password = credentials.password if credentials else None
    with client_for(image, username=user, password=password) as client:
        from hydro_ci.image.reference import parse_reference

        repo = parse_reference(image).repository
        try:
            data, _media, digest = client.get_manifest(repo, tag)
        except NotFoundError:
            return None
    try:
        config = boundedjson.loads(data)["config"]["digest"]
    except (ValueError, KeyError, TypeError):
        config = ""  # an index or foreign manifest: certainly not our engine image
    return digest, str(config)


def local_image_id(client: Any, ref: str) -> str:
    """The engine's id of ``ref``; a clear error when it was not built here."""
    import docker

    try:
        return str(client.api.inspect_image(ref)["Id"])
    except docker.errors.ImageNotFound:
        raise EngineError(f"image {ref} is not in the engine",
                          hint="build it first: hydro-ci build MODEL_DIR --image REPO --version V") from None
