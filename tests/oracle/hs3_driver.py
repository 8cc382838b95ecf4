"""Runs inside the hs 3 oracle venv (tests/oracle/envs.py), never in hydro-ci's own environment.

stdin: JSON list of cases ``{"id", "path", "ours": [base64 protobin per Model document] | null}``.
For each YAML document of ``kind: Model`` in ``path``, read as hs 3.0.3's ``hs apply`` reads it
(``list(yaml.safe_load_all(f))``, then ``ModelVersion.parse_obj(doc).contract.to_proto()``), answer
whether hs accepts it and, when ours is given, whether our protobin decoded with hs's own
``ModelSignature`` equals what hs 3 uploads. stdout: JSON list of results, one per case.
"""

import base64
import json
import sys

import yaml
from google.protobuf import text_format
from hs.entities.model_version import ModelVersion
from hydro_serving_grpc.serving.contract.signature_pb2 import ModelSignature


def model_docs(path):
    with open(path) as f:
        docs = list(yaml.safe_load_all(f))
    return [d for d in docs if isinstance(d, dict) and d.get("kind") == "Model"]


def check(case):
    out = {"id": case["id"], "docs": []}
    try:
        docs = model_docs(case["path"])
    except Exception as exc:  # noqa: BLE001 - any failure of hs is an answer: report it
        out["error"] = f"{type(exc).__name__}: {exc}"
        return out
    ours = case.get("ours") or []
    for i, doc in enumerate(docs):
        entry = {}
        try:
            theirs = ModelVersion.parse_obj(doc).contract.to_proto()
        except Exception as exc:  # noqa: BLE001 - any refusal of hs is an answer
            entry["error"] = f"{type(exc).__name__}: {exc}"
            out["docs"].append(entry)
            continue
        unset = [f.name for f in [*theirs.inputs, *theirs.outputs]
                 if f.WhichOneof("type_or_subfields") is None]
        if unset:  # a dtype name hs 3 does not know: the manager refuses DT_INVALID at upload
            entry["error"] = f"no dtype for {unset} (the manager refuses the upload)"
            out["docs"].append(entry)
            continue
        entry["theirs"] = text_format.MessageToString(theirs)
        if i < len(ours) and ours[i] is not None:
            mine = ModelSignature.FromString(base64.b64decode(ours[i]))
            entry["ours"] = text_format.MessageToString(mine)
            entry["equal"] = mine == theirs
        out["docs"].append(entry)
    return out


def main():
    cases = json.load(sys.stdin)
    json.dump([check(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
