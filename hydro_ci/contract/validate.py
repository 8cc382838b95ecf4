"""Every rule a model folder must pass; each finding is located (file:line:col) and has a rule id.

Two phases. Reading (``read_serving``) turns serving.yaml nodes into values and applies the rules
that need the YAML itself: keys, types, dtypes, profiles, shapes. Then ``FOLDER_RULES``, a tuple of
plain functions ``Declared -> list[Problem]``, apply the rules about meaning: names, runtime, payload,
signature function, the two declarations agreeing. A new rule is one more function in that tuple.
``BUILD_RULES`` (run by ``contract check``, not by every load) add what an image build needs.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydro_ci.contract import yamlfile
from hydro_ci.contract.model import (
    AMBIGUOUS_DTYPE,
    DEFAULT_SIGNATURE,
    DTYPE_ALIASES,
    HYDROSDK_DTYPE_ALIASES,
    Contract,
    DType,
    Field,
    Profile,
    Shape,
    Signature,
)
from hydro_ci.contract.payload import (
    IGNORE_FILE,
    PayloadItem,
    Refusal,
    func_main_source,
    item_payload,
    layout,
    needs_walk,
    shipped,
)
from hydro_ci.contract.yamlfile import Mapping, Node, Scalar, Sequence
from hydro_ci.diagnostics import Location, Problem, Severity, did_you_mean
from hydro_ci.errors import ContextError, ProblemsError
from hydro_ci.folder import CONFIG_KEY, PROTOTXT_FILE, SERVING_FILE, ModelFolder

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_NAME = 128  # a file name holds it with a version (255 bytes), as does a repository path
EXTRA_KEYS = ("training-data", "monitoring", "monitoring-configuration")
# Keys some released Hydrosphere read in a Model document that hydro-ci does not use: accepted with
# an `ignored-key` warning saying what they were for (docs/contract.md).
IGNORED_KEYS = {
    "host-selector": "hs 2.0 placed the model's servables on these cluster nodes",
    "description": "hs 0.x showed it in the model list",
    "version": "Hydrosphere numbered versions itself; hydro-ci's come from git tags (version next)",
}
# hs 3 read these snake_case spellings too (pydantic, allow_population_by_field_name): the key's value
# is read, with a `key-alias` warning naming the spelling of the docs.
KEY_ALIASES = {"install_command": "install-command", "training_data": "training-data",
               "monitoring_configuration": "monitoring-configuration"}
LEGACY_01_KEYS = ("model-type",)  # hs 0.1.x: the runtime came from the model type
SERVING_KEYS = ("kind", "name", "runtime", "install-command", "payload", "contract", "metadata",
                *EXTRA_KEYS, CONFIG_KEY, *IGNORED_KEYS, *KEY_ALIASES, *LEGACY_01_KEYS)
# hs 0.0.x: `model: {name, type, contract: <prototxt file>, payload, description}` and `local_deploy:`
LEGACY_00_KEYS = ("name", "type", "contract", "payload", "description")
LEGACY_00_TOP = ("model", "local_deploy")
CONTRACT_KEYS = ("name", "inputs", "outputs", "metadata")  # contract.metadata: ignored by every hs
FIELD_KEYS = ("shape", "type", "profile", "subfields", "fields")  # fields: hs 2.x / hydrosdk's subfields
SECTIONS = ("inputs", "outputs")
# The hydro-ci: section; each key is read by the feature named (a new key is added here too).
CONFIG_KEYS = (
    "image",  # version next --source registry, pipeline push (default for --image)
    "base-image",  # render: the image built FROM (default runtime:)
    "template",  # render: a directory of templates extending ours
    "env",  # render: ENV of the image
    "version",  # version next (VersionPolicy)
    "diff",  # contract diff / version bump (DiffConfig)
    "breaking-change",  # the breaking-change pre-commit hook
    "signature-name",  # the contract's signature name where the folder writes none (declared or inferred)
)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # what render (dockerfile.check_env) accepts
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # no line breaks in an ENV value
MAX_INT64 = 2**63 - 1
DIM_RANGE = f"must be -1 (unknown) or a size from 0 to {MAX_INT64}"  # dims are int64 in the proto

# Where each part of a declared signature is written: ("inputs", 0, 2, "shape") is the shape of the
# third subfield of the first input; ("signature",) the signature name; ("contract",) the whole.
Key = tuple[str | int, ...]


@dataclass
class Source:
    """One declared signature and where each part of it is written."""

    signature: Signature
    path: str  # the file, as shown to the user
    locations: dict[Key, Location] = field(default_factory=dict)
    valid: bool = True  # False when reading it found problems (values may be placeholders)
    legacy: str | None = None  # an older Hydrosphere format, read as today's: what it is

    def locate(self, key: Key) -> Location:
        k = key
        while k:
            if k in self.locations:
                return self.locations[k]
            whole = (*k[:-1], "field")
            if k[-1] != "field" and whole in self.locations:
                return self.locations[whole]
            k = k[:-1]
        return self.locations.get(("contract",), Location(self.path, 1, 1))


@dataclass
class Declared:
    """What a model folder's files declare, with the location of each value."""

    root: Path
    display: str  # the folder, as shown to the user
    name: str
    name_location: Location
    serving: str | None = None  # serving.yaml as shown, when present
    serving_location: Location | None = None  # where its top-level mapping starts (its first key)
    contract_written: bool = False  # serving.yaml has a contract: key (read or not)
    kind: str | None = None
    runtime: str | None = None
    runtime_location: Location | None = None
    install_command: str | None = None
    install_location: Location | None = None
    payload: list[tuple[str, Location]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    config_node: Mapping | None = None  # the hydro-ci: section as written, for check_settings
    extra: dict[str, Any] = field(default_factory=dict)
    yaml_contract: Source | None = None
    prototxt_contract: Source | None = None
    legacy: list[str] = field(default_factory=list)  # older Hydrosphere formats read as today's
    legacy_contract_file: tuple[str, Location] | None = None  # hs 0.0.x: contract: names a file

    @property
    def contract_source(self) -> Source | None:
        """The declaration that wins: contract.prototxt is exact, so it goes first."""
        return self.prototxt_contract or self.yaml_contract

    @property
    def is_python_runtime(self) -> bool:
        return self.runtime is not None and "python" in self.runtime.split("@")[0].lower()

    @property
    def signature(self) -> Signature | None:
        """The declared signature, named by ``hydro-ci: signature-name`` when the contract names none
        (hs 2.x called such a signature `Predict`, hs 3 and hydro-ci `predict`)."""
        source = self.contract_source
        if source is None:
            return None
        setting = self.config.get("signature-name")
        if isinstance(setting, str) and setting and ("signature",) not in source.locations:
            return Signature(setting, source.signature.inputs, source.signature.outputs)
        return source.signature

    def model_folder(self) -> ModelFolder:
        signature = self.signature
        contract = Contract(self.name, (signature,)) if signature is not None else None
        return ModelFolder(
            root=self.root,
            name=self.name,
            runtime=self.runtime,
            install_command=self.install_command,
            payload=tuple(entry for entry, _ in self.payload),
            metadata=dict(self.metadata),
            contract=contract,
            config=dict(self.config),
            extra=dict(self.extra),
        )


# --- reading serving.yaml -------------------------------------------------------------------------


class ServingReader:
    """Reads serving.yaml nodes into a ``Declared``, collecting every problem on the way."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.problems: list[Problem] = []

    def add(self, where: Location, message: str, rule: str) -> None:
        self.problems.append(Problem(where, message, rule))

    def warn(self, where: Location, message: str, rule: str) -> None:
        self.problems.append(Problem(where, message, rule, Severity.WARNING))

    def mapping(self, node: Node, what: str) -> Mapping | None:
        if isinstance(node, Mapping):
            return node
        self.add(node.location, f"{what} must be a mapping, not a {node.kind}", "bad-type")
        return None

    def text(self, node: Node, what: str) -> str | None:
        if isinstance(node, Scalar) and not node.is_null:
            return node.text
        self.add(node.location, f"{what} must be a string, not a {node.kind}", "bad-type")
        return None

    def entries(
        self, node: Mapping, allowed: tuple[str, ...] | None, what: str
    ) -> list[tuple[str, Node, Node]]:
        """(key text, key node, value node) of a mapping; flags odd, unknown and repeated keys."""
        out: list[tuple[str, Node, Node]] = []
        seen: set[str] = set()
        for key, value in node.pairs:
            if not isinstance(key, Scalar) or key.is_null:
                self.add(key.location, f"keys of {what} must be plain names, not a {key.kind}", "bad-type")
                continue
            name = key.text
            if allowed is not None:
                if name not in allowed:
                    self.add(key.location, f"unknown key {name!r} in {what}{did_you_mean(name, allowed)}",
                             "unknown-key")
                    continue
                if name in seen:
                    self.add(key.location, f"key {name!r} appears twice in {what}", "duplicate-key")
                    continue
                seen.add(name)
            out.append((name, key, value))
        return out

    def read(self, root: Node | None, declared: Declared) -> None:
        if root is None:
            self.add(Location(self.display, 1, 1), "file is empty; expected a mapping with kind: Model",
                     "bad-type")
            return
        top = self.mapping(root, SERVING_FILE)
        if top is None:
            return
        declared.serving_location = top.location
        if any(isinstance(k, Scalar) and k.text == "model" for k, _ in top.pairs) and not any(
                isinstance(k, Scalar) and k.text == "kind" for k, _ in top.pairs):
            self.read_legacy_00(top, declared)
            return
        for key, key_node, value in self.entries(top, SERVING_KEYS, SERVING_FILE):
            self.read_key(key, key_node, value, declared)

    def read_legacy_00(self, top: Mapping, d: Declared) -> None:
        """hs 0.0.x's serving.yaml, read as today's (``contract migrate`` rewrites it)."""
        d.legacy.append("hs 0.0.x serving.yaml (a top-level model: section)")
        for key, key_node, value in self.entries(top, LEGACY_00_TOP, SERVING_FILE):
            if key == "local_deploy":
                self.warn(key_node.location, "local_deploy is ignored: hs 0.0.x ran the model locally "
                          "with it", "ignored-key")
                continue
            model = self.mapping(value, "model")
            for k, knode, v in self.entries(model, LEGACY_00_KEYS, "model") if model else ():
                if k == "contract":
                    path = self.text(v, "model.contract (the contract file)")
                    if path is not None:
                        d.contract_written = True
                        d.legacy_contract_file = (path, v.location)
                elif k == "type":
                    self.warn(knode.location, "model.type is ignored: hs 0.0.x chose the runtime from it; "
                              "set runtime: (contract migrate asks for it)", "ignored-key")
                else:
                    self.read_key(k, knode, v, d)

    def read_key(self, key: str, key_node: Node, value: Node, d: Declared) -> None:
        if key in KEY_ALIASES:
            self.warn(key_node.location, f"{key!r} is hs 3's other spelling of {KEY_ALIASES[key]!r}; read "
                      f"as {KEY_ALIASES[key]!r}", "key-alias")
            key = KEY_ALIASES[key]
        if key in IGNORED_KEYS:
            self.warn(key_node.location, f"{key!r} is ignored: {IGNORED_KEYS[key]}", "ignored-key")
            return
        if key in LEGACY_01_KEYS:  # the runtime was chosen from it; `contract migrate` asks for one
            d.legacy.append("hs 0.1.x serving.yaml (model-type)")
            return
        if key == "kind":
            d.kind = self.text(value, "kind")
            if d.kind is not None and d.kind != "Model":
                self.add(value.location, f"kind must be 'Model', not {d.kind!r}", "bad-kind")
        elif key == "name":
            name = self.text(value, "name")
            if name is not None:
                d.name, d.name_location = name, value.location
        elif key == "runtime":
            d.runtime, d.runtime_location = self.text(value, "runtime"), value.location
        elif key == "install-command":
            d.install_command, d.install_location = self.text(value, "install-command"), value.location
        elif key == "payload":
            d.payload = self.payload(value)
        elif key == "contract":
            d.contract_written = True
            legacy = self.legacy_signatures(value)
            if legacy is not None:
                first, others = legacy
                d.legacy.append("hs 0.1.x contract (contract: {<signature>: {inputs, outputs}})" + (
                    f" with {len(others) + 1} signatures, of which the first is built" if others else ""))
                d.yaml_contract = self.contract(key_node, first[1], name=first[0])
            else:
                d.yaml_contract = self.contract(key_node, value)
        elif key == "metadata":
            d.metadata = self.metadata(value)
        elif key == CONFIG_KEY:
            if isinstance(value, Scalar) and value.is_null:
                d.config = {}
            elif (section := self.mapping(value, f"the {CONFIG_KEY} section")) is not None:
                d.config, d.config_node = _config(section), section
        else:
            d.extra[key] = yamlfile.to_python(value)

    def payload(self, node: Node) -> list[tuple[str, Location]]:
        if not isinstance(node, Sequence):
            self.add(node.location, f"payload must be a list of paths, not a {node.kind}", "bad-type")
            return []
        out = []
        for item in node.items:
            entry = self.text(item, "a payload entry")
            if entry is not None:
                out.append((entry, item.location))
        return out

    def metadata(self, node: Node) -> dict[str, str]:
        if isinstance(node, Scalar) and node.is_null:
            return {}
        m = self.mapping(node, "metadata")
        if m is None:
            return {}
        out = {}
        for key, key_node, value in self.entries(m, None, "metadata"):
            # Keys become image labels and annotations: a `=` or a blank splits a LABEL instruction,
            # a line break starts a new one (or a CI workflow command where it is printed).
            why = ("is empty" if not key
                   else "appears twice (the second would replace the first)" if key in out
                   else "holds a control character" if CONTROL_RE.search(key)
                   else "holds a blank: label names are single words" if any(c.isspace() for c in key)
                   else "holds '=', which would split the label" if "=" in key else None)
            if why is not None:
                self.add(key_node.location, f"metadata key {key!r} {why}", "bad-metadata")
                continue
            if not isinstance(value, Scalar):
                self.add(value.location, f"metadata {key!r} must be a string, not a {value.kind}", "bad-type")
            elif CONTROL_RE.search(value.text):
                self.add(value.location, f"metadata {key!r}: the value must be single-line text without "
                         "control characters", "bad-metadata")
            else:
                out[key] = "" if value.is_null else value.text
        return out

    # The contract section: {name, inputs: {field: spec}, outputs: {field: spec}}.

    @staticmethod
    def legacy_signatures(node: Node) -> tuple[tuple[Scalar, Node], list[str]] | None:
        """hs 0.1.x's ``contract: {<signature name>: {inputs, outputs}}``: the first signature (its
        name node and section) and the other names; None for today's contract section."""
        if not isinstance(node, Mapping) or not node.pairs:
            return None
        pairs = node.pairs
        if any(isinstance(k, Scalar) and k.text in CONTRACT_KEYS for k, _ in pairs):
            return None
        if not all(isinstance(k, Scalar) and isinstance(v, Mapping) and any(
                isinstance(kk, Scalar) and kk.text in SECTIONS for kk, _ in v.pairs) for k, v in pairs):
            return None
        first_key, first_value = pairs[0]
        assert isinstance(first_key, Scalar)
        return (first_key, first_value), [k.text for k, _ in pairs[1:] if isinstance(k, Scalar)]

    def contract(self, key_node: Node, node: Node, name: Scalar | None = None) -> Source | None:
        before = len(self.problems)
        locations: dict[Key, Location] = {("contract",): key_node.location}
        m = self.mapping(node, "contract")
        if m is None:
            return None
        signature_name = DEFAULT_SIGNATURE
        if name is not None:  # hs 0.1.x: the signature's name is its key
            signature_name, locations[("signature",)] = name.text, name.location
        sections: dict[str, tuple[Field, ...]] = {"inputs": (), "outputs": ()}
        for key, knode, value in self.entries(m, CONTRACT_KEYS, "contract"):
            if key == "metadata":
                self.warn(knode.location, "contract.metadata is ignored (no Hydrosphere release read it); "
                          "put labels under the top-level metadata:", "ignored-key")
            elif key == "name":
                signature_name = self.text(value, "the signature name") or DEFAULT_SIGNATURE
                locations[("signature",)] = value.location
            else:
                locations[(key,)] = knode.location
                sections[key] = self.fields(value, (key,), locations, key)
        sig = Signature(signature_name, sections["inputs"], sections["outputs"])
        return Source(sig, self.display, locations, valid=len(self.problems) == before)

    def fields(self, node: Node, key: Key, locations: dict[Key, Location], what: str) -> tuple[Field, ...]:
        if isinstance(node, Scalar) and node.is_null:
            return ()
        m = self.mapping(node, what)
        if m is None:
            return ()
        out = []
        for index, (name, name_node, spec) in enumerate(self.entries(m, None, what)):
            out.append(self.field(name, name_node, spec, (*key, index), locations))
        return tuple(out)

    def field(
        self, name: str, name_node: Node, spec: Node, key: Key, locations: dict[Key, Location]
    ) -> Field:
        locations[(*key, "field")] = locations[(*key, "name")] = name_node.location
        placeholder = Field(name, dtype=DType.any)  # keeps checking after a problem
        m = self.mapping(spec, f"field {name!r}")
        if m is None:
            return placeholder
        shape: Shape = None
        dtype: DType | None = None
        profile = Profile.none
        subfields: tuple[Field, ...] | None = None
        type_node: Node | None = None
        sub_key: str | None = None
        for k, knode, value in self.entries(m, FIELD_KEYS, f"field {name!r}"):
            if k in ("subfields", "fields"):
                if sub_key is not None:
                    self.add(knode.location, f"field {name!r} has both subfields and fields (one name for "
                             "the same thing); keep one", "duplicate-key")
                    continue
                sub_key, k = k, "subfields"
            locations[(*key, "dtype" if k == "type" else k)] = value.location
            if k == "shape":
                shape = self.shape(value, name)
            elif k == "type":
                type_node = value
                dtype = self.dtype(value, name)
            elif k == "profile":
                profile = self.profile(value, name)
            else:
                subfields = self.fields(value, key, locations, f"subfields of {name!r}")
        if subfields is not None and type_node is not None:
            self.add(type_node.location, f"field {name!r} has both type and subfields; keep one", "bad-field")
            return placeholder
        if subfields is not None:
            return Field(name, shape=shape, profile=profile, subfields=subfields)
        if type_node is None:
            self.add(name_node.location, f"field {name!r} needs a type (or subfields)", "bad-field")
        return Field(name, dtype=dtype or DType.any, shape=shape, profile=profile)

    def shape(self, node: Node, name: str) -> Shape:
        if isinstance(node, Scalar):
            if node.is_null:
                return None
            if node.text == "scalar" and node.tag == yamlfile.STR_TAG:
                return ()
            self.add(node.location, f"shape of {name!r} must be 'scalar' or a list of integers, "
                     f"not {node.text[:40]!r}", "bad-shape")
            return None
        if not isinstance(node, Sequence):
            self.add(node.location, f"shape of {name!r} must be 'scalar' or a list of integers, "
                     f"not a {node.kind}", "bad-shape")
            return None
        dims = []
        for item in node.items:
            value = item.value if isinstance(item, Scalar) and item.tag == yamlfile.INT_TAG else None
            if not isinstance(value, int) or isinstance(value, bool):
                shown = item.text[:40] if isinstance(item, Scalar) else f"a {item.kind}"
                self.add(item.location, f"shape of {name!r}: dimension {shown!r} is not an integer",
                         "bad-shape")
                return None
            if value < -1 or value > MAX_INT64:
                self.add(item.location, f"shape of {name!r}: dimension {value} {DIM_RANGE}", "bad-shape")
                return None
            dims.append(value)
        return tuple(dims)

    def dtype(self, node: Node, name: str) -> DType | None:
        text = self.text(node, f"type of {name!r}")
        if text is None:
            return None
        dtype = DType.parse(text)
        key = text.strip().lower()
        if dtype is None:
            why = " (Hydrosphere 2's DT_VARIANT has no v3 equivalent)" if key in ("variant", "dt_variant") \
                else did_you_mean(text, DTYPE_ALIASES)
            self.add(node.location, f"unknown type {text!r} of {name!r}{why}", "unknown-dtype")
        elif key == AMBIGUOUS_DTYPE:
            self.warn(node.location, f"type 'float' of {name!r} is ambiguous: hydro-ci reads float32, "
                      "hydrosdk read double and the hs CLI refused it; write float32 or double",
                      "ambiguous-dtype")
        elif key in HYDROSDK_DTYPE_ALIASES:
            self.warn(node.location, f"type {text!r} of {name!r} is hydrosdk's name for {dtype.name} (the hs "
                      f"CLI refused it); write {dtype.name}", "dtype-alias")
        return dtype

    def profile(self, node: Node, name: str) -> Profile:
        text = self.text(node, f"profile of {name!r}")
        if text is None:
            return Profile.none
        profile = Profile.parse(text)
        if profile is None:  # hs 2.x and hydrosdk used NONE for an unknown profile, hs 2 with a warning
            choices = Profile.__members__
            self.warn(node.location, f"unknown profile {text!r} of {name!r}, read as none (as Hydrosphere "
                      f"did){did_you_mean(text, choices)}", "unknown-profile")
            return Profile.none
        return profile


def _config(section: Mapping) -> dict[str, Any]:
    """The hydro-ci: section as data; ``env:`` keeps each name and value as written (its source text:
    YAML 1.1 would read 3.10 as 3.1, 0022 as 18, yes as true and 1:30 as 90)."""
    config: dict[str, Any] = yamlfile.to_python(section)
    for key, value in section.pairs:
        if isinstance(key, Scalar) and key.text == "env" and isinstance(value, Mapping):
            config["env"] = {k.text if isinstance(k, Scalar) else str(yamlfile.to_python(k)):
                             v.text if isinstance(v, Scalar) and not v.is_null else yamlfile.to_python(v)
                             for k, v in value.pairs}
    return config


def read_serving(root: Node | None, declared: Declared, display: str) -> list[Problem]:
    """Fill ``declared`` from a composed serving.yaml; the problems found while reading."""
    reader = ServingReader(display)
    reader.read(root, declared)
    return reader.problems


def read_contract_section(root: Node | None, display: str) -> Source:
    """The signature of a YAML document ``contract: {...}`` (what ``formats.to_yaml`` writes)."""
    reader = ServingReader(display)
    source = None
    top = reader.mapping(root, display) if root is not None else None
    if top is not None:
        for _, key_node, value in reader.entries(top, ("contract",), display):
            source = reader.contract(key_node, value)
    if source is None and not reader.problems:
        reader.add(Location(display, 1, 1), "no contract: section", "bad-type")
    if source is not None:
        reader.problems.extend(check_signature(source))
    if reader.problems:
        raise ProblemsError(reader.problems)
    assert source is not None
    return source


# --- folder rules -------------------------------------------------------------------------------

Rule = Callable[[Declared], list[Problem]]


def check_name(d: Declared) -> list[Problem]:
    where = "" if d.serving else " (the folder name; set name: in serving.yaml)"
    if len(d.name) > MAX_NAME:  # it names files (.hydro-ci/NAME/, dist/NAME-VERSION.oci) and a repository
        return [Problem(d.name_location, f"model name {d.name[:40]!r}…{where} is {len(d.name)} characters "
                        f"long; at most {MAX_NAME}", "bad-name")]
    if NAME_RE.match(d.name):
        return []
    return [Problem(d.name_location, f"model name {d.name!r}{where} must match {NAME_RE.pattern}",
                    "bad-name")]


def check_runtime(d: Declared) -> list[Problem]:
    from hydro_ci.image.reference import ReferenceError, parse_reference

    if d.runtime is None or d.runtime_location is None:
        return []
    try:
        parse_reference(d.runtime, require_tag=True)
    except ReferenceError as exc:
        return [Problem(d.runtime_location, f"runtime {d.runtime!r} is not an image reference with a tag: "
                        f"{exc.reason}", "bad-runtime")]
    return []


def check_install_command(d: Declared) -> list[Problem]:
    cmd, where = d.install_command, d.install_location
    if cmd is None or where is None:
        return []
    if "\x00" in cmd:
        return [Problem(where, "install-command contains a NUL character", "install-command")]
    if "\n" in cmd or "\r" in cmd:
        return [Problem(where, "install-command must be one line (use && to chain; with a folded "
                        "YAML block use '>-' to drop the final newline)", "install-command")]
    if not cmd.strip():
        return [Problem(where, "install-command is empty; remove the key instead", "install-command")]
    return []


def check_payload(d: Declared) -> list[Problem]:
    """Each entry resolved and laid out as Hydrosphere did (hydro_ci.contract.payload), and every file
    it ships one render can ship (a regular file inside its boundary): located at the file."""
    if not d.payload:
        return _shipped_problems(d, None)
    items, problems = layout(d.root, d.payload)
    return problems + (_shipped_problems(d, items) if items else [])


def _shipped_problems(d: Declared, items: list[PayloadItem] | None) -> list[Problem]:
    """What render would refuse among the files the folder ships: links leaving the folder (or the
    repository, for an entry elsewhere in it), to devices or FIFOs, dangling or looping; unreadable or
    too deep folders; odd names."""
    real_root = os.path.realpath(d.root)
    inside = real_root.rstrip("/") + "/"
    outside = [i for i in items or () if os.path.realpath(i.source) != real_root
               and not os.path.realpath(i.source).startswith(inside)]
    if not outside and not needs_walk(d.root):  # the common case: no docker SDK import
        return []
    try:
        folder = shipped(d.root)
        found = [folder] if items is None else [item_payload(d.root, i, folder) for i in items]
    except ContextError as exc:  # a .hydroignore that cannot be read
        return [Problem(Location(f"{d.display}/{IGNORE_FILE}"), exc.message, "payload-ignore-file")]
    seen: dict[str, Refusal] = {}
    for part in found:
        for refusal in part.refusals:
            seen.setdefault(refusal.rel, refusal)
    return [Problem(Location(f"{d.display}/{r.rel}" if r.rel != "." else d.display), f"{r.message}; {r.hint}",
                    r.rule) for _, r in sorted(seen.items())]


def check_signatures(d: Declared) -> list[Problem]:
    return [p for s in (d.yaml_contract, d.prototxt_contract) if s is not None for p in check_signature(s)]


def check_signature(source: Source) -> list[Problem]:
    """Rules on the contract itself, the same for serving.yaml and contract.prototxt."""
    problems = []
    sig = source.signature
    if CONTROL_RE.search(sig.name):  # printed in logs and CI annotations, where a newline is a command
        problems.append(Problem(source.locate(("signature",)), f"signature name {sig.name!r} holds a control "
                                "character", "control-character"))
    for section, fields in (("inputs", sig.inputs), ("outputs", sig.outputs)):
        if not fields:
            problems.append(Problem(source.locate((section,)), f"the contract has no {section}",
                                    f"empty-{section}"))
        problems.extend(_check_fields(fields, (section,), source))
    return problems


def _check_fields(fields: tuple[Field, ...], key: Key, source: Source) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for index, f in enumerate(fields):
        here = (*key, index)
        if not f.name:
            problems.append(Problem(source.locate((*here, "name")), "a field has an empty name", "bad-field"))
        elif CONTROL_RE.search(f.name):
            problems.append(Problem(source.locate((*here, "name")), f"field name {f.name!r} holds a control "
                                    "character", "control-character"))
        elif f.name in seen:
            problems.append(Problem(source.locate((*here, "name")), f"field {f.name!r} is declared twice",
                                    "duplicate-field"))
        seen.add(f.name)
        bad = [d for d in f.shape or () if d < -1 or d > MAX_INT64]
        if bad:
            problems.append(Problem(source.locate((*here, "shape")), f"shape of {f.name!r}: dimension "
                                    f"{bad[0]} {DIM_RANGE}", "bad-shape"))
        if f.subfields is not None:
            if not f.subfields:
                problems.append(Problem(source.locate((*here, "field")), f"field {f.name!r} has empty "
                                        "subfields", "bad-field"))
            problems.extend(_check_fields(f.subfields, here, source))
    return problems


def check_contract_agreement(d: Declared) -> list[Problem]:
    ours, theirs = d.yaml_contract, d.prototxt_contract
    if ours is None or theirs is None or not (ours.valid and theirs.valid):
        return []
    diff = describe_difference(ours.signature, theirs.signature)
    if diff is None:
        return []
    key_ours, key_theirs, what = diff
    there = theirs.locate(key_theirs).render()
    return [Problem(ours.locate(key_ours), f"contract differs from {there}: {what}", "contract-mismatch")]


def describe_difference(a: Signature, b: Signature) -> tuple[Key, Key, str] | None:
    """The first difference between two signatures, as (where in a, where in b, what); order-blind."""
    if a.name != b.name:
        return ("signature",), ("signature",), f"signature name {a.name!r} here, {b.name!r} there"
    for section in SECTIONS:
        diff = _field_difference(getattr(a, section), getattr(b, section), (section,), (section,),
                                 section[:-1])
        if diff is not None:
            return diff
    return None


def _field_difference(
    fa: tuple[Field, ...], fb: tuple[Field, ...], ka: Key, kb: Key, what: str
) -> tuple[Key, Key, str] | None:
    index_b = {f.name: i for i, f in enumerate(fb)}
    names_a = [f.name for f in fa]
    only_a = [n for n in names_a if n not in index_b]
    only_b = [f.name for f in fb if f.name not in names_a]
    if only_a or only_b:
        parts = [f"{', '.join(map(repr, names))} only {side}"
                 for names, side in ((only_a, "here"), (only_b, "there")) if names]
        return ka, kb, f"{what}s: " + "; ".join(parts)
    for i, f in enumerate(fa):
        j = index_b[f.name]
        g = fb[j]
        here, there, label = (*ka, i), (*kb, j), f"{what} {f.name!r}"
        for attr, key in (("dtype", "dtype"), ("shape", "shape"), ("profile", "profile")):
            x, y = getattr(f, attr), getattr(g, attr)
            if x != y:
                return (*here, key), (*there, key), f"{label} has {attr} {_show(x)} here, {_show(y)} there"
        if (f.subfields is None) != (g.subfields is None):
            return here, there, f"{label} is a record on one side only"
        if f.subfields is not None and g.subfields is not None:
            diff = _field_difference(f.subfields, g.subfields, here, there, f"subfields of {label}")
            if diff is not None:
                return diff
    return None


def _show(value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, DType | Profile):
        return value.name
    if value == ():
        return "scalar"
    return str(list(value)) if isinstance(value, tuple) else str(value)


def check_signature_function(d: Declared) -> list[Problem]:
    source, signature = d.contract_source, d.signature
    if source is None or signature is None or not d.is_python_runtime:
        return []
    name = signature.name
    where = source.locate(("signature",))
    # /model/files/src/func_main.py comes from the payload entry that lands at src/ (e.g. calculator/src/)
    path = func_main_source(d.root, layout(d.root, d.payload)[0] if d.payload else None)
    shown = os.path.join(d.display, os.path.relpath(path, d.root))
    if not path.is_file():
        return [Problem(where, f"python runtime: {shown} with a function {name!r} is missing",
                        "signature-not-function")]
    try:
        tree = ast.parse(yamlfile.read_text(path, shown, max_bytes=8 << 20), filename=shown)
    except ProblemsError as exc:
        return exc.problems
    except SyntaxError as exc:
        return [Problem(Location(shown, exc.lineno or 0, exc.offset or 0), f"invalid Python: {exc.msg}",
                        "python-syntax")]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [Problem(Location(shown), f"invalid Python: {exc}", "python-syntax")]
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if isinstance(defs.get(name), ast.AsyncFunctionDef):
        return [Problem(where, f"{shown}: {name!r} is async; the python runtime calls it directly",
                        "signature-not-function")]
    if name in defs or name in _bound_names(tree):
        return []
    return [Problem(where, f"signature {name!r} is not a top-level function of {shown}"
                    f"{did_you_mean(name, defs)}", "signature-not-function")]


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module binds at top level other than by ``def`` (imports, assignments)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def check_model_files(d: Declared) -> list[Problem]:
    """The declared contract against the model files, read from their bytes (never a framework)."""
    from hydro_ci.infer import folder_problems  # owned by contract inference (issue 3)

    source = d.contract_source
    if source is None or not source.valid:
        return []
    return folder_problems(d.model_folder(), locate=source.locate)


def check_contract_available(d: Declared) -> list[Problem]:
    """A folder that declares no contract must have one that can be read from its model files:
    the image carries a contract (/model/contract.protobin), so the build would stop at its
    contract stage. Reading is by bytes, as for check_model_files: no framework is imported."""
    if d.contract_source is not None or d.contract_written or d.serving_location is None:
        return []  # declared (or its declaration is broken and reported where it is written)
    if os.path.lexists(d.root / PROTOTXT_FILE):
        return []  # a contract.prototxt that does not read: reported by its own problems
    from hydro_ci.infer import undeclared_problem  # reads model files from their bytes only

    problem = undeclared_problem(Path(d.display), d.serving_location)
    return [] if problem is None else [problem]


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
        elif key == "breaking-change":
            text = _setting_text(reader, key, value)
            if text is not None and text.strip().lower() != "intended":
                reader.add(value.location, f"{CONFIG_KEY}.breaking-change: {text!r} means nothing; the one "
                           "value is 'intended' (remove the key otherwise)", "bad-setting")
        elif key == "version":
            from hydro_ci.version.policy import VersionPolicy

            _check_policy_setting(reader, key, value, VersionPolicy)
        else:
            from hydro_ci.contract.diff import DiffConfig

            _check_policy_setting(reader, key, value, DiffConfig)
    return reader.problems


def _setting_text(reader: ServingReader, key: str, value: Node) -> str | None:
    if isinstance(value, Scalar) and isinstance(value.value, str):
        return value.text
    shown = f"{value.text} (quote it if that is the text)" if isinstance(value, Scalar) else f"a {value.kind}"
    reader.add(value.location, f"{CONFIG_KEY}.{key} must be a string, not {shown}", "bad-setting")
    return None


def _check_image_setting(reader: ServingReader, key: str, value: Node) -> None:
    from hydro_ci.image.reference import ReferenceError, parse_reference

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
        if not ENV_NAME_RE.match(name):
            reader.add(name_node.location, f"{CONFIG_KEY}.env: {name!r} is not an environment variable name "
                       "(letters, digits and _, not starting with a digit)", "bad-setting")
        if not isinstance(item, Scalar):
            reader.add(item.location, f"{CONFIG_KEY}.env: {name} is a {item.kind}, not text; quote it to "
                       "pass it as a string", "bad-setting")
        elif item.is_null:
            reader.add(item.location, f"{CONFIG_KEY}.env: {name} has no value; write {name}: \"\" for an "
                       "empty one", "bad-setting")
        elif CONTROL_RE.search(item.text):
            reader.add(item.location, f"{CONFIG_KEY}.env: {name}: the value must be single-line text",
                       "bad-setting")


def _check_policy_setting(reader: ServingReader, key: str, value: Node, policy: Any) -> None:
    """A version:/diff: section read by ``policy.from_config``, one key (and one list item) at a
    time so that each refusal is located at its own value and all are reported at once."""
    import dataclasses

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
    from hydro_ci.errors import HydroCIError

    try:
        policy.from_config(config)
    except HydroCIError as exc:
        return str(exc) + (f"; {exc.hint}" if exc.hint else "")
    return None


def check_legacy_format(d: Declared) -> list[Problem]:
    """One warning for a folder in an older Hydrosphere format: what it is, and the verb that
    rewrites it (the folder is read as today's meanwhile)."""
    whats = list(d.legacy)
    if d.prototxt_contract is not None and d.prototxt_contract.legacy:
        whats.append(f"{PROTOTXT_FILE}: {d.prototxt_contract.legacy}")
    if not whats:
        return []
    nested = [e for e, _ in d.payload if "/" in e.strip().rstrip("/")]
    if nested and any(w.startswith("hs 0.0.x") for w in whats):
        whats.append(f"hs 0.0.x shipped {', '.join(map(repr, nested))} at their paths under /model/files, "
                     "today's layout (and this build) under their basenames")
    where = d.serving_location or (d.prototxt_contract.locate(("contract",)) if d.prototxt_contract
                                   else d.name_location)
    return [Problem(where, f"older Hydrosphere format, read as today's: {'; '.join(whats)}; "
                    f"`hydro-ci contract migrate {d.display}` rewrites it (shows the diff, --write saves)",
                    "legacy-format", Severity.WARNING)]


FOLDER_RULES: tuple[Rule, ...] = (
    check_legacy_format,
    check_name,
    check_runtime,
    check_install_command,
    check_payload,
    check_signatures,
    check_contract_agreement,
    check_signature_function,
    check_model_files,
    check_settings,
)
# What a build needs beyond a folder that loads, checked by `contract check` (and the pre-commit
# hook): commands that need no contract (show, version next --bump X, the breaking hook) still load.
BUILD_RULES: tuple[Rule, ...] = (check_contract_available,)
