from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydro_ci.contract.model import Signature

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def fixture_dirs() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if (p / "expected.json").is_file())


def expected(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "expected.json").read_text())
    return data


def as_plain(sig: Signature) -> dict[str, Any]:
    """A signature as {inputs: {name: (dtype, shape)}, outputs: …}: order-free, profile-free."""
    def side(fields: Any) -> dict[str, tuple[str | None, list[int] | None]]:
        return {
            f.name: (f.dtype.name if f.dtype else None, list(f.shape) if f.shape is not None else None)
            for f in fields
        }
    return {"inputs": side(sig.inputs), "outputs": side(sig.outputs)}


def expected_plain(sig: dict[str, Any]) -> dict[str, Any]:
    def side(fields: list[dict[str, Any]]) -> dict[str, tuple[str | None, list[int] | None]]:
        return {f["name"]: (f["dtype"], f["shape"]) for f in fields}
    return {"inputs": side(sig["inputs"]), "outputs": side(sig["outputs"])}
