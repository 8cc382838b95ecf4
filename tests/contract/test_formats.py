"""Every form of a contract reads back to the same contract (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from hydro_ci.contract import formats
from hydro_ci.contract.model import Contract, Signature
from tests.contract.strategies import contracts, signatures

examples = settings(max_examples=60, deadline=None)


@examples
@given(signatures)
def test_protobin_round_trip(sig: Signature) -> None:
    assert formats.from_protobin(formats.to_protobin(sig)) == sig


@examples
@given(signatures)
def test_prototxt_round_trip(sig: Signature) -> None:
    assert formats.from_prototxt(formats.to_prototxt(sig)) == sig


@examples
@given(contracts)
def test_json_round_trip(contract: Contract) -> None:
    assert formats.from_json(formats.to_json(contract)) == contract


@examples
@given(signatures)
def test_yaml_round_trip(sig: Signature) -> None:
    assert formats.from_yaml(formats.to_yaml(sig)) == sig


@examples
@given(signatures)
def test_protobin_is_deterministic(sig: Signature) -> None:
    assert formats.to_protobin(sig) == formats.to_protobin(formats.from_yaml(formats.to_yaml(sig)))


def test_protobin_with_an_unknown_dtype_is_a_contract_error_like_the_prototxt_problem() -> None:
    """One reader of v3 fields serves both: the same words for the same fault."""
    from hydro_ci.contract import proto
    from hydro_ci.errors import ContractError

    msg = proto.ModelSignature(signature_name="p")
    msg.inputs.add(name="x", dtype=99)  # type: ignore[arg-type]
    with pytest.raises(ContractError, match=r"^field 'x' has unknown dtype number 99$"):
        formats.from_protobin(msg.SerializeToString())
