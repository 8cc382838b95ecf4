"""Runs inside the hs 2 oracle venv (tests/oracle/envs.py), never in hydro-ci's own environment.

stdin: JSON list of cases ``{"id", "path"}``. For each YAML document of ``kind: Model`` in ``path``,
read as hs 2.4.0 reads it (``yaml.safe_load_all``, then ``hydroserving.core.model.parser.parse_model``),
answer the v2 contract it uploads in a neutral form (signature name; fields with name, dtype name,
dims or null, profile name, subfields), the payload as hs 2.4 uploads it (basename, resolved path),
plus the warnings hs logged. stdout: JSON list, one per case.
"""

import json
import logging
import os
import sys

import yaml
from hydro_serving_grpc import DataType
from hydro_serving_grpc.contract import DataProfileType
from hydroserving.core.model.package import resolve_model_paths
from hydroserving.core.model.parser import parse_model


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def field(f):
    out = {"name": f.name, "profile": DataProfileType.Name(f.profile),
           "shape": [d.size for d in f.shape.dim] if f.HasField("shape") else None}
    if f.WhichOneof("type_or_subfields") == "subfields":
        out["subfields"] = [field(s) for s in f.subfields.data]
    else:
        out["dtype"] = DataType.Name(f.dtype)
    return out


def check(case, collect):
    out = {"id": case["id"], "docs": []}
    try:
        with open(case["path"]) as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict) and d.get("kind") == "Model"]
    except Exception as exc:  # noqa: BLE001 - any failure of hs is an answer
        out["error"] = f"{type(exc).__name__}: {exc}"
        return out
    for doc in docs:
        collect.messages = []
        entry = {}
        try:
            model = parse_model(doc)
        except Exception as exc:  # noqa: BLE001 - any failure of hs is an answer
            entry["error"] = f"{type(exc).__name__}: {exc}"
        else:
            if model.contract is not None:
                sig = model.contract.predict
                entry["contract"] = {"name": sig.signature_name, "inputs": [field(f) for f in sig.inputs],
                                     "outputs": [field(f) for f in sig.outputs]}
            else:
                entry["contract"] = None
            entry["payload"] = list(model.payload)
            # what hs 2.4 uploads: each resolved path under its basename (core/model/package.py)
            folder = os.path.dirname(os.path.abspath(case["path"]))
            resolved = resolve_model_paths(folder, model).payload
            entry["layout"] = sorted([os.path.basename(p), p] for p in resolved)
        entry["warnings"] = list(collect.messages)
        out["docs"].append(entry)
    return out


def main():
    collect = Collect()
    logging.getLogger().addHandler(collect)
    cases = json.load(sys.stdin)
    json.dump([check(case, collect) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
