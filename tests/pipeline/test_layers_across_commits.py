"""A commit that changes only code changes only the code layer: layer contents carry a fixed time,
not the commit time, so the weights and dependency layers keep their digests from commit to commit
(and the image's created time still follows the commit)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from hydro_ci.image import layout

from .conftest import hydro_ci, read_json


def _build(folder: Path, workdir: Path) -> dict[str, Any]:
    workdir.mkdir()
    # No SOURCE_DATE_EPOCH: the epoch is the folder's last commit time, as in a plain CI run.
    hydro_ci(["pipeline", str(folder)], workdir, env={"SOURCE_DATE_EPOCH": ""})
    built: dict[str, Any] = read_json(workdir / f".hydro-ci/{folder.name}/build.json")
    return built


def _commit(repo: Path, message: str, when: int) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_COMMITTER_DATE": f"@{when} +0000", "GIT_AUTHOR_DATE": f"@{when} +0000"}
    subprocess.run(["git", "commit", "-qam", message], cwd=repo, env=env, check=True, capture_output=True)


def test_a_code_commit_keeps_the_weights_and_deps_layers(iris_repo: Path, tmp_path: Path) -> None:
    repo = iris_repo.parent
    (iris_repo / "src/func_main.py").write_text((iris_repo / "src/func_main.py").read_text() + "\n# v2\n")
    _commit(repo, "code v2", 1_800_000_000)
    first = _build(iris_repo, tmp_path / "w1")
    (iris_repo / "src/func_main.py").write_text((iris_repo / "src/func_main.py").read_text() + "# v3\n")
    _commit(repo, "code v3", 1_800_086_400)  # a day later
    second = _build(iris_repo, tmp_path / "w2")

    layers = [{la["class"]: la["digest"] for la in b["layers"]} for b in (first, second)]
    assert set(layers[0]) == {"deps", "weights", "code", "contract"}
    changed = sorted(k for k in layers[0] if layers[0][k] != layers[1][k])
    assert changed == ["code"]
    assert first["digest"] != second["digest"]
    # the image is still dated by its commit
    for work, when in ((tmp_path / "w1", "2027-01-15T08:00:00Z"), (tmp_path / "w2", "2027-01-16T08:00:00Z")):
        summary = read_json(work / ".hydro-ci/iris-sklearn/summary.json")
        image = layout.read_layout(work / summary["layout"], summary["version"])
        assert image.config.created == when
