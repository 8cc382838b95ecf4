"""The located reader of a model folder's declarations: serving.yaml (and a ``contract:`` section)
into a ``Declared``, every value with the place it is written (file:line:col).

Reading turns YAML nodes (``yamlfile``) into values and reports what needs the YAML itself: keys,
types, dtypes, profiles, shapes, each problem located and with a rule id. What the values mean
(names, runtime, payload, settings, the model files) is for the rules in ``contract.rules``, plain
functions ``Declared -> list[Problem]`` that run after reading.
"""

from __future__ import annotations

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
    ModelFolder,
    Profile,
    Shape,
    Signature,
    is_python_runtime,
)
from hydro_ci.contract.pairing import SECTIONS, Key
from hydro_ci.contract.yamlfile import Mapping, Node, Scalar, Sequence
from hydro_ci.diagnostics import Location, Problem, Severity, did_you_mean
from hydro_ci.folder import CONFIG_KEY, SERVING_FILE
from hydro_ci.text import CONTROL_CHARS

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
MAX_INT64 = 2**63 - 1
DIM_RANGE = f"must be -1 (unknown) or a size from 0 to {MAX_INT64}"  # dims are int64 in the proto
# Keys (``contract.pairing.Key``) also name ("signature",) the signature name and ("contract",) the whole.


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
    siblings: tuple[str, ...] = ()  # the other Model documents of the same serving file, by name
    problems: list[Problem] = field(default_factory=list)  # this Model's own (serving.read_folder)

    @property
    def contract_source(self) -> Source | None:
        """The declaration that wins: contract.prototxt is exact, so it goes first."""
        return self.prototxt_contract or self.yaml_contract

    @property
    def is_python_runtime(self) -> bool:
        return is_python_runtime(self.runtime)

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
            siblings=self.siblings,
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
                   else "holds a control character" if CONTROL_CHARS.search(key)
                   else "holds a blank: label names are single words" if any(c.isspace() for c in key)
                   else "holds '=', which would split the label" if "=" in key else None)
            if why is not None:
                self.add(key_node.location, f"metadata key {key!r} {why}", "bad-metadata")
                continue
            if not isinstance(value, Scalar):
                self.add(value.location, f"metadata {key!r} must be a string, not a {value.kind}", "bad-type")
            elif CONTROL_CHARS.search(value.text):
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


# A rule about what a folder declares (``contract.rules``): every problem it finds, located.
Rule = Callable[[Declared], list[Problem]]
