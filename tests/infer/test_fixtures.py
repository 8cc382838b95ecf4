"""Every committed fixture, read by our readers, equals what its framework's own API reported.

``expected.json`` was written by tests/fixtures/make_models.py from the framework's loading API
(see there); these tests need no framework installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hydro_ci.infer import infer_folder
from tests.infer.helpers import as_plain, expected, expected_plain, fixture_dirs


@pytest.mark.parametrize("folder", fixture_dirs(), ids=lambda p: p.name)
def test_fixture_matches_framework(folder: Path) -> None:
    want = expected(folder)
    result = infer_folder(folder)
    assert result.framework == want["framework"]
    got = {s.name: as_plain(s) for s in result.contract.signatures}
    if want.get("signature_names", True):
        assert got == {s["name"]: expected_plain(s) for s in want["signatures"]}
    else:  # formats with one unnamed entry point: named below
        assert [as_plain(s) for s in result.contract.signatures] == [
            expected_plain(s) for s in want["signatures"]
        ]
    # the name Hydrosphere's manager gave each format (docs/infer.md), or the model's own (TF)
    assert sorted(s.name for s in result.contract.signatures) == sorted(s["name"] for s in want["signatures"])
    if "default" in want:
        assert result.contract.primary.name == want["default"]


@pytest.mark.parametrize(
    "folder", [d for d in fixture_dirs() if expected(d).get("signature_names", True)], ids=lambda p: p.name
)
def test_signature_choice(folder: Path) -> None:
    want = expected(folder)
    last = want["signatures"][-1]["name"]
    assert infer_folder(folder, signature=last).contract.primary.name == last
