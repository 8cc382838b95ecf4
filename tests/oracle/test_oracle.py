"""hydro-ci against Hydrosphere's own released code (tests/oracle/envs.py): on every example and
Hydrosphere-format fixture folder, the contract.protobin we build must equal what hs 3.0.3 uploads
(decoded with hs's own ModelSignature), and the v2 contract hs 2.4.0 uploads — except where
docs/contract.md documents a difference, listed here with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.oracle.cases import (
    case_folders,
    model_names,
    neutral,
    our_layout,
    our_signatures,
    protobin_b64,
    serving_file,
)
from tests.oracle.conftest import Driver

pytestmark = pytest.mark.oracle

FOLDERS = case_folders()
IDS = [f.name for f in FOLDERS]


def _cases(folders: list[Path]) -> list[dict[str, object]]:
    cases = []
    for folder in folders:
        ours = our_signatures(folder)
        cases.append({"id": folder.name, "path": str(serving_file(folder)),
                      "ours": None if isinstance(ours, str) else [protobin_b64(s) for s in ours]})
    return cases


@pytest.fixture(scope="module")
def hs3_answers(hs3: Driver) -> dict[str, dict[str, object]]:
    return {a["id"]: a for a in hs3(_cases(FOLDERS))}


@pytest.fixture(scope="module")
def hs2_answers(hs2: Driver) -> dict[str, dict[str, object]]:
    return {a["id"]: a for a in hs2(_cases(FOLDERS))}


def test_there_are_cases() -> None:
    assert len(FOLDERS) >= 5
    assert any(len(model_names(f)) > 1 for f in FOLDERS)  # a serving file of several Models


@pytest.mark.parametrize("folder", FOLDERS, ids=IDS)
def test_every_model_document_hs3_reads_is_one_of_ours(
        folder: Path, hs3_answers: dict[str, dict[str, object]]) -> None:
    """One image per Model document: as many as hs 3 reads, in its order."""
    docs = hs3_answers[folder.name]["docs"]
    assert isinstance(docs, list)
    ours = our_signatures(folder)
    if docs and not isinstance(ours, str):  # hs 3 reads no document without kind: Model (hs 0.0.x)
        assert len(ours) == len(docs)


@pytest.mark.parametrize("folder", FOLDERS, ids=IDS)
def test_protobin_equals_what_hs3_uploads(folder: Path, hs3_answers: dict[str, dict[str, object]]) -> None:
    answer = hs3_answers[folder.name]
    ours = our_signatures(folder)
    docs = answer["docs"]
    assert isinstance(docs, list)
    for i, doc in enumerate(docs):
        if "error" in doc:
            continue  # hs 3 refuses it: what we do instead is checked by the folder's own test
        assert not isinstance(ours, str), f"hs 3 accepts {folder.name} (doc {i}), hydro-ci refuses: {ours}"
        assert doc.get("equal"), f"{folder.name}: ours\n{doc.get('ours')}\nhs 3\n{doc['theirs']}"


@pytest.mark.parametrize("folder", FOLDERS, ids=IDS)
def test_contract_equals_what_hs2_uploads(folder: Path, hs2_answers: dict[str, dict[str, object]]) -> None:
    answer = hs2_answers[folder.name]
    ours = our_signatures(folder)
    docs = answer["docs"]
    assert isinstance(docs, list)
    for i, doc in enumerate(docs):
        if "error" in doc or doc.get("contract") is None:
            continue  # hs 2 refuses it, or leaves the contract to the manager's fetchers
        assert not isinstance(ours, str), f"hs 2 accepts {folder.name} (doc {i}), hydro-ci refuses: {ours}"
        theirs = dict(doc["contract"])
        mine = neutral(ours[i])
        if theirs["name"] == "Predict" and mine["name"] == "predict":
            theirs["name"] = "predict"  # hs 2's default name; ours is hs 3's (docs/contract.md)
        assert mine == theirs


@pytest.mark.parametrize("folder", FOLDERS, ids=IDS)
def test_payload_lands_where_hs2_put_it(folder: Path, hs2_answers: dict[str, dict[str, object]]) -> None:
    """Each payload entry of each Model document at /model/files/<basename>, from the path hs 2.4
    resolved it to."""
    docs = hs2_answers[folder.name]["docs"]
    assert isinstance(docs, list)
    names = model_names(folder)
    for i, doc in enumerate(docs):
        if "error" in doc or not doc.get("payload"):
            continue  # hs 2 refuses the document, or it has no payload (hydro-ci ships the whole folder)
        assert our_layout(folder, names[i] if len(names) > 1 else None) == doc["layout"]
