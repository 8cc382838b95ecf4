"""Attack (silent change of data): ``hydro-ci: env:`` values went through YAML 1.1 on their way to
the image's ENV — ``3.10`` became ``3.1``, ``0022`` became ``18``, ``yes`` became ``true`` and ``1:30``
became ``90`` — though the docs say values are kept as written. Each value is its source text now.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import make_model, run

AS_WRITTEN = {
    "PYTHON_VERSION": "3.10", "UMASK": "0022", "DEBUG": "yes", "TIMEOUT": "1:30", "MASK": "0x1F",
    "BIG": "1_000", "SCI": "1e3", "OFF": "off", "NOTHING": "~x", "DATE": "2001-12-14", "TRUE": "True",
}


@pytest.mark.parametrize("builder", ["render", "pipeline"])
def test_env_values_reach_the_image_as_written(tmp_path: Path, builder: str) -> None:
    folder = make_model(tmp_path)
    with (folder / "serving.yaml").open("a") as f:
        f.write("  env:\n" + "".join(f"    {k}: {v}\n" for k, v in AS_WRITTEN.items())
                + '    QUOTED: "3.10"\n')
    if builder == "render":
        assert run(["render", "model", "--output", "ctx"], tmp_path).returncode == 0
        env = json.loads((tmp_path / "ctx" / "plan.json").read_text())["env"]
    else:
        proc = run(["pipeline", "model", "--dist", "dist"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        [plan] = tmp_path.glob(".hydro-ci/iris-sklearn/**/plan.json")
        env = json.loads(plan.read_text())["env"]
    assert env == {**AS_WRITTEN, "QUOTED": "3.10"}
