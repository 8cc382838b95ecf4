"""The checked-in generated code matches proto/ (regenerate with ``nox -s proto``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from hydro_ci._proto import contract_pb2  # the test of the generated module itself may import it

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    protoc = shutil.which("protoc")
    if protoc is None:
        missing = "protoc not installed (apt-get install protobuf-compiler)"
        if os.environ.get("CI"):  # CI installs it: a missing tool must not turn into a green skip
            pytest.fail(missing)
        pytest.skip(missing)
    out = tmp_path / "contract.pb"
    subprocess.run([protoc, "-Iproto", f"--descriptor_set_out={out}", "proto/hydro_ci/_proto/contract.proto"],
                   cwd=ROOT, check=True)
    fresh = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    [expected] = fresh.file
    _drop_json_names(expected.message_type)  # protoc fills them in; the Python generator leaves them out
    checked_in = descriptor_pb2.FileDescriptorProto.FromString(contract_pb2.DESCRIPTOR.serialized_pb)
    assert checked_in == expected, "hydro_ci/_proto is stale: run `nox -s proto` and commit the result"


def _drop_json_names(messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
    for message in messages:
        for f in message.field:
            f.ClearField("json_name")
        _drop_json_names(message.nested_type)


def test_wire_identity_with_hydrosphere() -> None:
    """Field numbers and enum values a Hydrosphere runtime relies on."""
    sig = contract_pb2.ModelSignature.DESCRIPTOR
    assert {f.name: f.number for f in sig.fields} == {"signature_name": 1, "inputs": 2, "outputs": 3}
    field = contract_pb2.ModelField.DESCRIPTOR
    assert {f.name: f.number for f in field.fields} == {
        "name": 1, "shape": 2, "subfields": 3, "dtype": 4, "profile": 5}
    assert contract_pb2.DESCRIPTOR.package == "hydrosphere.serving.contract"
    assert contract_pb2.DataType.Value("DT_HALF") == 19 and contract_pb2.DataType.Value("DT_MAP") == 27
    assert contract_pb2.DataProfileType.Value("RATIO") == 23
