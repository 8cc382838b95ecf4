"""Rules on serving.yaml's ``hydro-ci:`` section: every problem, each where it is written.

Unknown keys (with "did you mean"), values of the wrong kind, and what ``version next``, ``contract
diff`` and ``render`` would refuse later: those sections are read here by the same parsers
(``VersionPolicy``, ``DiffConfig``), one key at a time so each refusal is located at its value.
The breaking-change marker is read here too, for the pre-commit hook.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping as AnyMapping
from typing import Any

from hydro_ci.contract import yamlfile
from hydro_ci.contract.diff import DiffConfig
from hydro_ci.contract.reader import Declared, ServingReader
from hydro_ci.contract.yamlfile import Mapping, Node, Scalar, Sequence
from hydro_ci.diagnostics import Problem
from hydro_ci.errors import HydroCIError
from hydro_ci.folder import CONFIG_KEY
from hydro_ci.image.reference import ReferenceError, parse_reference
from hydro_ci.text import CONTROL_CHARS, ENV_NAME

BREAKING_CHANGE = "breaking-change"
INTENDED = "intended"  # `hydro-ci: {breaking-change: intended}` lets the breaking-change hook pass
# The hydro-ci: section; each key is read by the feature named (a new key is added here too).
CONFIG_KEYS = (
    "image",  # version next --source registry, pipeline push (default for --image)
    "base-image",  # render: the image built FROM (default runtime:)
    "template",  # render: a directory of templates extending ours
    "env",  # render: ENV of the image
    "version",  # version next (VersionPolicy)
    "diff",  # contract diff / version bump (DiffConfig)
    BREAKING_CHANGE,  # the breaking-change pre-commit hook
    "signature-name",  # the contract's signature name where the folder writes none (declared or inferred)
)


def breaking_change_intended(config: AnyMapping[str, Any]) -> bool:
    """Whether a folder's ``hydro-ci:`` section (as data) marks its breaking change intended."""
    value = config.get(BREAKING_CHANGE)
    return isinstance(value, str) and _is_intended(value)


def _is_intended(text: str) -> bool:
    return text.strip().lower() == INTENDED


def check_settings(d: Declared) -> list[Problem]:
    """Every problem of the hydro-ci: section, each where it is written: unknown keys (did you mean),
    values of the wrong kind, and what version next / contract diff / render would refuse later."""
    if d.config_node is None:
        return []
    reader = ServingReader(d.serving or d.display)
    for key, _, value in reader.entries(d.config_node, CONFIG_KEYS, f"the {CONFIG_KEY} section"):
        if isinstance(value, Scalar) and value.is_null:
            continue  # unset: the default
        if key in ("image", "base-image"):
            _check_image_setting(reader, key, value)
        elif key == "template":
            text = _setting_text(reader, key, value)
            if text is not None and not (d.root / text).is_dir():
                reader.add(value.location, f"{CONFIG_KEY}.template: {text!r} is not a directory (the path "
                           "is relative to the model folder)", "bad-setting")
        elif key == "env":
            _check_env_setting(reader, value)
        elif key == "signature-name":
            text = _setting_text(reader, key, value)
            if text is not None and not text.strip():
                reader.add(value.location, f"{CONFIG_KEY}.signature-name is empty", "bad-setting")
        elif key == BREAKING_CHANGE:
            text = _setting_text(reader, key, value)
            if text is not None and not _is_intended(text):
                reader.add(value.location, f"{CONFIG_KEY}.{BREAKING_CHANGE}: {text!r} means nothing; the one "
                           f"value is {INTENDED!r} (remove the key otherwise)", "bad-setting")
        elif key == "version":
            from hydro_ci.contract.version_policy import VersionPolicy  # semver: start-up of contract check

            _check_policy_setting(reader, key, value, VersionPolicy)
        else:
            _check_policy_setting(reader, key, value, DiffConfig)
    return reader.problems


def _setting_text(reader: ServingReader, key: str, value: Node) -> str | None:
    if isinstance(value, Scalar) and isinstance(value.value, str):
        return value.text
    shown = f"{value.text} (quote it if that is the text)" if isinstance(value, Scalar) else f"a {value.kind}"
    reader.add(value.location, f"{CONFIG_KEY}.{key} must be a string, not {shown}", "bad-setting")
    return None


def _check_image_setting(reader: ServingReader, key: str, value: Node) -> None:
    text = _setting_text(reader, key, value)
    if text is None or (key == "base-image" and text == "scratch"):
        return
    try:
        ref = parse_reference(text)
    except ReferenceError as exc:
        reader.add(value.location, f"{CONFIG_KEY}.{key}: {exc.message}", "bad-setting")
        return
    if key == "image" and (ref.tag or ref.digest):  # versions add the tags
        reader.add(value.location, f"{CONFIG_KEY}.image {text!r} must name a repository, without a tag or "
                   f"digest (e.g. {ref.name})", "bad-setting")


def _check_env_setting(reader: ServingReader, value: Node) -> None:
    env = value if isinstance(value, Mapping) else None
    if env is None:
        reader.add(value.location, f"{CONFIG_KEY}.env must be a mapping of names to values, not a "
                   f"{value.kind}", "bad-setting")
        return
    for name, name_node, item in reader.entries(env, None, f"{CONFIG_KEY}.env"):
        if not ENV_NAME.match(name):
            reader.add(name_node.location, f"{CONFIG_KEY}.env: {name!r} is not an environment variable name "
                       "(letters, digits and _, not starting with a digit)", "bad-setting")
        if not isinstance(item, Scalar):
            reader.add(item.location, f"{CONFIG_KEY}.env: {name} is a {item.kind}, not text; quote it to "
                       "pass it as a string", "bad-setting")
        elif item.is_null:
            reader.add(item.location, f"{CONFIG_KEY}.env: {name} has no value; write {name}: \"\" for an "
                       "empty one", "bad-setting")
        elif CONTROL_CHARS.search(item.text):
            reader.add(item.location, f"{CONFIG_KEY}.env: {name}: the value must be single-line text",
                       "bad-setting")


def _check_policy_setting(reader: ServingReader, key: str, value: Node, policy: Any) -> None:
    """A version:/diff: section read by ``policy.from_config``, one key (and one list item) at a
    time so that each refusal is located at its own value and all are reported at once."""
    section = value if isinstance(value, Mapping) else None
    if section is None:
        reader.add(value.location, f"{CONFIG_KEY}.{key} must be a mapping, not a {value.kind}", "bad-setting")
        return
    # The keys are the policy's fields, spelt with dashes (tests/contract check they are all accepted).
    known = tuple(f.name.replace("_", "-") for f in dataclasses.fields(policy))
    before = len(reader.problems)
    for name, _, item in reader.entries(section, known, f"{CONFIG_KEY}.{key}"):
        refused = _refusal(policy, {key: {name: yamlfile.to_python(item)}})
        if refused is None:
            continue
        items = item.items if isinstance(item, Sequence) else []
        bad = [(i, r) for i in items if (r := _refusal(policy, {key: {name: [yamlfile.to_python(i)]}}))]
        for where, why in bad or [(item, refused)]:
            reader.add(where.location, why, "bad-setting")
    if len(reader.problems) == before and (refused := _refusal(policy, {key: yamlfile.to_python(section)})):
        reader.add(value.location, refused, "bad-setting")  # a rule about several keys together


def _refusal(policy: Any, config: dict[str, Any]) -> str | None:
    try:
        policy.from_config(config)
    except HydroCIError as exc:
        return str(exc) + (f"; {exc.hint}" if exc.hint else "")
    return None
