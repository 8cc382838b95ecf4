"""Rendering the Dockerfile from Jinja templates: ours, optionally extended by the user's.

Jinja runs sandboxed with ``StrictUndefined``. Values that come from serving.yaml are checked first
(``check_*``) and every ``{{ expression }}`` is refused if it renders more than one line, so no value
can add a Dockerfile instruction, whatever the template does with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from hydro_ci import boundedjson
from hydro_ci.errors import HydroCIError, TemplateError, UnsafeValueError
from hydro_ci.limited_child import run_limited
from hydro_ci.reference import parse_reference
from hydro_ci.render.context import LAYER_DIRS
from hydro_ci.text import CONTROL_CHARS, ENV_NAME

BASE_TEMPLATE = "Dockerfile.j2"
OURS = "hydro-ci"  # prefix under which our templates stay reachable from a user's template dir
_LINE_BREAK = re.compile("[\n\r\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def templates_dir() -> Path:
    """Our templates: inside the wheel (hydro_ci/templates), else the repository's templates/."""
    packaged = Path(str(resources.files("hydro_ci").joinpath("templates")))
    if (packaged / BASE_TEMPLATE).is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class DockerfileInputs:
    """What the templates see; built by the context writer from the model folder."""

    base_image: str
    workdir: str
    labels: Mapping[str, str]
    env: Mapping[str, str]
    install_command: str | None
    model_name: str
    model_version: str | None
    runtime: str | None
    variant: str | None = None  # "python" selects python.Dockerfile.j2 when it exists
    # Context directories copied to / before and after install-command (see hydro_ci.render.context).
    copy_before_install: tuple[str, ...] = LAYER_DIRS
    copy_after_install: tuple[str, ...] = ()


# --- checks on values from serving.yaml -------------------------------------------------------------

def check_install_command(command: str | None) -> str | None:
    if command is None:
        return None
    if _LINE_BREAK.search(command):
        raise UnsafeValueError(
            "install-command must be a single line (it becomes one RUN instruction)",
            hint="join the steps with && or put them in a script in the payload and run that",
        )
    if command.rstrip().endswith("\\"):
        raise UnsafeValueError(
            "install-command must not end with a backslash (a Dockerfile line continuation)",
            hint="remove the trailing \\",
        )
    if not command.strip():
        return None
    return command.strip()


def check_label(key: str, value: str) -> None:
    if not key or CONTROL_CHARS.search(key) or CONTROL_CHARS.search(value):
        raise UnsafeValueError(
            f"label {key!r}: keys and values must be non-empty single-line text without control characters",
            hint="remove newlines and tabs from metadata values in serving.yaml",
        )


def check_env(key: str, value: str) -> None:
    if not ENV_NAME.match(key):
        raise UnsafeValueError(f"environment variable name {key!r} is not valid",
                               hint="use letters, digits and _, not starting with a digit")
    if CONTROL_CHARS.search(value):
        raise UnsafeValueError(f"environment variable {key}: value must be single-line text")


def check_base_image(ref: str) -> str:
    if ref == "scratch":
        return ref
    parse_reference(ref)  # raises ReferenceError (one line, with a hint) for anything odd
    return ref


# --- filters -------------------------------------------------------------------------------------

def dockerfile_quote(value: object) -> str:
    """A Dockerfile double-quoted word: backslash, quote and ``$`` escaped (no variable expansion)."""
    text = str(value)
    if CONTROL_CHARS.search(text):
        raise UnsafeValueError(f"value {text[:40]!r} contains a control character and cannot be quoted")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def json_value(value: object) -> str:
    return json.dumps(value, ensure_ascii=True)


def _one_line(value: object) -> object:
    """Jinja ``finalize``: no expression may start a new Dockerfile line."""
    text = "" if value is None else str(value)
    if _LINE_BREAK.search(text):
        raise UnsafeValueError(f"template expression rendered more than one line: {text[:60]!r}")
    return value


# --- environment ---------------------------------------------------------------------------------

def make_environment(user_dir: Path | None) -> SandboxedEnvironment:
    ours = jinja2.FileSystemLoader(str(templates_dir()))
    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders += [jinja2.PrefixLoader({OURS: ours}), ours]
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_one_line,
    )
    env.filters["q"] = dockerfile_quote
    env.filters["json"] = json_value
    return env


def select_template(user_dir: Path | None, variant: str | None) -> str:
    """The entry template: the user's variant, the user's base, our variant, our base."""
    names = ([f"{variant}.{BASE_TEMPLATE}"] if variant else []) + [BASE_TEMPLATE]
    if user_dir is not None:
        if not user_dir.is_dir():
            what = "is not a directory" if user_dir.exists() else "does not exist"
            raise TemplateError(f"template directory {user_dir} {what}",
                                hint="--template (or hydro-ci: template:) must name a directory")
        for name in names:
            if (user_dir / name).is_file():
                return name
    for name in names:
        if (templates_dir() / name).is_file():
            return f"{OURS}/{name}"
    raise TemplateError(f"no {BASE_TEMPLATE} found in {templates_dir()}",
                        hint="reinstall hydro-ci; its templates are missing")


# Blocks that come before the install: a user's steps there (ENV PIP_…, RUN on code) may need every file.
_EARLY_BLOCKS = re.compile(r"{%[-+]?\s*block\s+(header|base|env|files|install)\b")
_COPY_MODEL = re.compile(r"^(COPY|ADD)\s+(--\S+\s+)*\[?\"?(\.?/?model\S*|\./?)\"?[\s,]", re.IGNORECASE)


def _overrides_early_blocks(user_dir: Path | None) -> bool:
    """Whether the user's templates replace the files or install block: steps of theirs there may
    read code or weights, so nothing may run before every file is copied."""
    if user_dir is None or not user_dir.is_dir():
        return False
    for path in user_dir.rglob("*"):
        try:
            if path.is_file() and _EARLY_BLOCKS.search(path.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


def render_dockerfile(inputs: DockerfileInputs, user_dir: Path | None = None) -> tuple[str, str]:
    """The Dockerfile text and the name of the template it came from."""
    if inputs.copy_after_install and _overrides_early_blocks(user_dir):
        inputs = replace(inputs, copy_before_install=inputs.copy_before_install + inputs.copy_after_install,
                         copy_after_install=())
    install = check_install_command(inputs.install_command)
    for key, value in inputs.labels.items():
        check_label(key, value)
    for key, value in inputs.env.items():
        check_env(key, value)
    check_base_image(inputs.base_image)
    env = make_environment(user_dir)
    name = select_template(user_dir, inputs.variant)
    variables: dict[str, Any] = {
        "base_image": inputs.base_image,
        "workdir": inputs.workdir,
        "labels": sorted(inputs.labels.items()),
        "env": sorted(inputs.env.items()),
        "install_command": install,
        "copy_before_install": list(inputs.copy_before_install),
        "copy_after_install": list(inputs.copy_after_install),
        "model": {"name": inputs.model_name, "version": inputs.model_version, "runtime": inputs.runtime},
        "template_name": name,
    }
    # A user's template is code from the model folder: its work is bounded (see _bounded); ours is not.
    text = _bounded(lambda: _render(env, name, variables, user_dir)) if user_dir is not None else _render(
        env, name, variables, user_dir)
    text = _normalize(text)
    for line in text.splitlines():
        if _COPY_MODEL.match(line + " "):
            raise TemplateError(f"{name} copies model/, which is no longer sent to the engine: {line}",
                                hint="copy the directories in copy_before_install and copy_after_install "
                                     "(COPY {{ dir }}/ /), as hydro-ci/Dockerfile.j2's files block does")
    return text, name


# What rendering a user's template may cost: it runs in a child process with these limits, so a loop
# of 10^10 iterations, a 10^10 ** 10^10 or a string of 10^9 characters ends in one error line.
RENDER_CPU_SECONDS = 10
RENDER_MEMORY = 512 << 20  # address space the render may add to this process's
MAX_OUTPUT = 1 << 20  # characters of Dockerfile


def _render(env: SandboxedEnvironment, name: str, variables: dict[str, Any], user_dir: Path | None) -> str:
    """The template rendered (at most MAX_OUTPUT characters); every template error as one line."""
    try:
        size, parts = 0, []
        for part in env.get_template(name).generate(variables):
            size += len(part)
            if size > MAX_OUTPUT:
                raise TemplateError(f"{name} renders more than {MAX_OUTPUT} characters",
                                    hint="a Dockerfile is a few kilobytes; check the template's loops")
            parts.append(part)
        return "".join(parts)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name or name}:{exc.lineno}"
        raise TemplateError(f"{where}: {exc.message}", hint="fix the template syntax") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found (from {name})",
                            hint=f"extend ours as \"{OURS}/{BASE_TEMPLATE}\"") from None
    except UnsafeValueError as exc:
        raise UnsafeValueError(f"{_where(exc.__traceback__, name)}: {exc.message}", hint=exc.hint) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{_where(exc.__traceback__, name)}: {exc.message or exc}",
                            hint="templates see: " + ", ".join(sorted(variables))) from None
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{name} or a template it uses in {user_dir} is not UTF-8 text "
                            f"(byte {exc.start}: {exc.reason})", hint="save templates as UTF-8") from None
    except RecursionError:
        # {% extends "Dockerfile.j2" %} inside Dockerfile.j2 (or an include cycle) never ends.
        raise TemplateError(f"{name} extends or includes itself (a template loop)",
                            hint=f"extend ours as \"{OURS}/{BASE_TEMPLATE}\"") from None
    except OverflowError as exc:  # the sandbox's range() limit, a float too large
        raise TemplateError(f"{_where(exc.__traceback__, name)}: {exc}",
                            hint="a Dockerfile template needs no such numbers") from None
    except MemoryError:
        raise TemplateError(f"{name} needs more than {RENDER_MEMORY >> 20} MiB of memory to render",
                            hint="a Dockerfile is a few kilobytes; check the template") from None


def _bounded(render: Callable[[], str]) -> str:
    """``render()`` in a forked child limited to RENDER_CPU_SECONDS of CPU and RENDER_MEMORY more
    memory (hydro_ci.limited_child); its text, or its error, comes back as JSON."""
    def work() -> bytes:
        try:
            answer: dict[str, str | None] = {"text": render()}
        except HydroCIError as exc:
            answer = {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}
        return json.dumps(answer).encode()

    data = run_limited(work, cpu_seconds=RENDER_CPU_SECONDS, memory=RENDER_MEMORY,
                       max_output=4 * MAX_OUTPUT + 65536)
    try:
        answer = boundedjson.loads(data.decode("utf-8", "replace")) if data is not None else {}
    except ValueError:
        answer = {}
    if isinstance(answer.get("text"), str):
        return str(answer["text"])
    if answer.get("error") in ("TemplateError", "UnsafeValueError"):
        kind = TemplateError if answer["error"] == "TemplateError" else UnsafeValueError
        raise kind(str(answer.get("message")), hint=answer.get("hint"))
    raise TemplateError(f"rendering the template used more than {RENDER_CPU_SECONDS} s of CPU or "
                        f"{RENDER_MEMORY >> 20} MiB of memory, and was stopped",
                        hint="a Dockerfile is a few kilobytes; check the template's loops")


def _where(tb: TracebackType | None, fallback: str) -> str:
    """file:line of the innermost template frame (Jinja rewrites tracebacks to point into templates)."""
    found = fallback
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2") or "/templates/" in filename:
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _normalize(text: str) -> str:
    """No trailing blanks, no runs of empty lines, one final newline: stable bytes whatever the blocks."""
    lines = [line.rstrip(" \t") for line in text.split("\n")]  # Docker splits on \n only
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"
