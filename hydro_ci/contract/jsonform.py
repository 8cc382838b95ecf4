"""The JSON form every command prints a contract in.

``{"name": …, "signatures": [{"name": …, "inputs": [{"name", "dtype", "shape", "profile"}],
"outputs": […]}]}`` with dtype names (``float32``, ``int64``, …), shape ``null`` for unknown rank and
``[]`` for a scalar; a record field has ``"dtype": null`` and ``"subfields": [...]``.
"""

from __future__ import annotations

from typing import Any

from hydro_ci.contract.model import Contract, DType, Field, Profile, Signature
from hydro_ci.errors import ContractError

# The image label holding a contract in this form (compact, sorted keys): render writes it, and
# contract diff / version next read it from a registry's image config without pulling a layer.
CONTRACT_LABEL = "io.hydro-ci.contract"


def field_to_dict(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "dtype": f.dtype.name if f.dtype is not None else None,
        "shape": list(f.shape) if f.shape is not None else None,
        "profile": f.profile.name,
    }
    if f.subfields is not None:
        out["subfields"] = [field_to_dict(s) for s in f.subfields]
    return out


def signature_to_dict(sig: Signature) -> dict[str, Any]:
    return {
        "name": sig.name,
        "inputs": [field_to_dict(f) for f in sig.inputs],
        "outputs": [field_to_dict(f) for f in sig.outputs],
    }


def contract_to_dict(contract: Contract) -> dict[str, Any]:
    return {"name": contract.name, "signatures": [signature_to_dict(s) for s in contract.signatures]}


def field_from_dict(data: dict[str, Any]) -> Field:
    try:
        name = str(data["name"])
        shape = _shape_from_json(name, data.get("shape"))
        profile = Profile.parse(str(data.get("profile") or "none"))
        if profile is None:
            raise ContractError(f"field {name!r}: unknown profile {data.get('profile')!r}")
        if data.get("subfields") is not None:
            subs = tuple(field_from_dict(s) for s in data["subfields"])
            return Field(name, shape=shape, profile=profile, subfields=subs)
        dtype = DType.parse(str(data.get("dtype")))
        if dtype is None:
            raise ContractError(f"field {name!r}: unknown dtype {data.get('dtype')!r}")
        return Field(name, dtype=dtype, shape=shape, profile=profile)
    except (KeyError, TypeError, ValueError) as exc:
        raise ContractError(f"malformed field in JSON contract: {exc}") from None


def _shape_from_json(name: str, value: Any) -> tuple[int, ...] | None:
    """A list of integers or null; anything else (``"12"``, ``[1.5]``, ``[true]``) is an error,
    never coerced: ``tuple(int(d) for d in "12")`` would read a string as the shape [1, 2]."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(type(d) is int for d in value):
        raise ContractError(f"field {name!r}: shape must be a list of integers or null, not {value!r}")
    return tuple(value)


def signature_from_dict(data: dict[str, Any]) -> Signature:
    try:
        return Signature(
            str(data["name"]),
            tuple(field_from_dict(f) for f in data.get("inputs", [])),
            tuple(field_from_dict(f) for f in data.get("outputs", [])),
        )
    except (KeyError, TypeError) as exc:
        raise ContractError(f"malformed signature in JSON contract: {exc}") from None


def contract_from_dict(data: dict[str, Any]) -> Contract:
    try:
        return Contract(
            str(data["name"]), tuple(signature_from_dict(s) for s in data.get("signatures", []))
        )
    except (KeyError, TypeError) as exc:
        raise ContractError(f"malformed JSON contract: {exc}") from None
