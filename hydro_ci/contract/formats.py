"""A contract in each of its text and binary forms: writers and readers.

- protobin: the serialized v3 ``ModelSignature`` (``/model/contract.protobin``)
- prototxt: the same message in protobuf text format (``contract.prototxt``)
- JSON: the form every command prints (``jsonform``)
- YAML: the ``contract:`` section of serving.yaml

Readers raise ``ProblemsError`` (located) or ``ContractError``; round trips are lossless.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from hydro_ci import boundedjson
from hydro_ci.contract import jsonform, proto, prototxt, yamlfile
from hydro_ci.contract.model import Contract, Field, Profile, Signature
from hydro_ci.contract.reader import ServingReader, Source
from hydro_ci.contract.rules.signature import check_signature
from hydro_ci.diagnostics import Location
from hydro_ci.errors import ContractError, ProblemsError


class _FlowMap(dict[str, Any]):
    """A tensor field: written on one line, ``{shape: [1, 2], type: float32}``, as people write them."""


class _FlowList(list[int]):
    """A shape: written inline, ``[-1, 224, 224, 3]``."""


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


_Dumper.add_representer(
    _FlowMap, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)
)
_Dumper.add_representer(
    _FlowList, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)
)


def to_protobin(sig: Signature) -> bytes:
    return proto.to_protobin(sig)


def from_protobin(data: bytes) -> Signature:
    return proto.from_protobin(data)


def to_prototxt(sig: Signature) -> str:
    return prototxt.to_prototxt(sig)


def from_prototxt(text: str, display: str = "<prototxt>") -> Signature:
    source = prototxt.parse_prototxt(text, display)
    problems = check_signature(source)
    if problems:
        raise ProblemsError(problems)
    return source.signature


def to_json(contract: Contract) -> str:
    return json.dumps(jsonform.contract_to_dict(contract), indent=2, ensure_ascii=False) + "\n"


def from_json(text: str, display: str = "<json>") -> Contract:
    """A contract in hydro-ci's JSON form (bare, or wrapped as ``{"contract": …}``), checked by
    the rules a folder's contract obeys; JSON has no lines, so problems name the file only."""
    try:
        data = boundedjson.loads(text)
    except ValueError as exc:
        raise ContractError(f"{display}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ContractError(f"{display}: a contract must be a JSON object with name and signatures")
    try:
        contract = jsonform.contract_from_dict(data if "signatures" in data else data.get("contract", data))
    except ContractError as exc:
        raise ContractError(f"{display}: {exc}", hint=exc.hint) from None
    if not contract.signatures:
        raise ContractError(f"{display}: the contract has no signatures")
    problems = [p for sig in contract.signatures for p in check_signature(Source(sig, display))]
    if problems:
        raise ProblemsError(problems)
    return contract


def _field_to_yaml(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {} if f.subfields is not None else _FlowMap()
    if f.shape is not None:
        out["shape"] = "scalar" if f.shape == () else _FlowList(f.shape)
    if f.dtype is not None:
        out["type"] = f.dtype.name
    if f.profile is not Profile.none:
        out["profile"] = f.profile.name
    if f.subfields is not None:
        out["subfields"] = {s.name: _field_to_yaml(s) for s in f.subfields}
    return out


def signature_to_yaml_dict(sig: Signature) -> dict[str, Any]:
    """The ``contract:`` section of serving.yaml for ``sig``."""
    return {
        "name": sig.name,
        "inputs": {f.name: _field_to_yaml(f) for f in sig.inputs},
        "outputs": {f.name: _field_to_yaml(f) for f in sig.outputs},
    }


def serving_to_yaml(document: dict[str, Any]) -> str:
    """A serving.yaml document (keys in the order given; fields one per line, shapes inline)."""
    return str(yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=100))


def to_yaml(sig: Signature) -> str:
    """A YAML document ``contract: {...}``, ready to paste into serving.yaml."""
    return str(yaml.dump({"contract": signature_to_yaml_dict(sig)}, Dumper=_Dumper, sort_keys=False,
                         default_flow_style=False, allow_unicode=True, width=100))


def from_yaml(text: str, display: str = "<yaml>") -> Signature:
    """The signature of a ``contract:`` YAML document (what ``to_yaml`` writes)."""
    return read_contract_section(yamlfile.compose(text, display), display).signature


def read_contract_section(root: yamlfile.Node | None, display: str) -> Source:
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
