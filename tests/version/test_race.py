"""8 pipelines for one model start at once against a bare git remote and the real registry:
they must end with 8 distinct versions and no version tag overwritten."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hydro_ci import git
from hydro_ci.contract.jsonform import contract_to_dict
from hydro_ci.version.sources import registry_versions

from .gitrepo import clone, make_remote
from .images import client, contract_image, push

PIPELINES = 8
WORKER = Path(__file__).with_name("race_worker.py")


@pytest.mark.registry
@pytest.mark.slow
def test_racing_pipelines_never_share_a_version(registry: Any, unique_repo: str, tmp_path: Path) -> None:
    first = make_remote(tmp_path)
    first.tag("titanic-v1.0.0")
    c = client(registry.host, registry.username, registry.password)
    from hydro_ci.version.contracts import contract_from_folder

    released = contract_from_folder(first.path / "models/titanic")
    push(c, unique_repo, contract_image(released), ["1.0.0"])
    clones = [clone(first.remote, tmp_path / f"pipeline-{i}") for i in range(PIPELINES)]
    for cl in clones:  # what the pipeline's image label will carry
        (cl.path / "contract.json").write_text(json.dumps(contract_to_dict(released)))
    go = tmp_path / "go"
    env = {**os.environ, "HYDRO_CI_TEST_REGISTRY_USER": registry.username,
           "HYDRO_CI_TEST_REGISTRY_PASSWORD": registry.password, "PYTHONPATH": str(Path.cwd())}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(cl.path), registry.host, unique_repo,
                               str(go), f"run{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, text=True) for i, cl in enumerate(clones)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.*.ready"))) < PIPELINES and time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.02)
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    versions = [r["version"] for r in results]
    assert len(set(versions)) == PIPELINES, versions
    # every version tag in the registry holds the image of the pipeline that reserved it
    for r in results:
        assert c.head_manifest(unique_repo, r["version"]) == r["digest"], r
    assert len({r["digest"] for r in results}) == PIPELINES
    # and every git tag on the remote is one of ours, one per version
    remote = git.remote_tags(first.path)
    assert {r["git_tag"] for r in results} <= set(remote)
    in_registry = {str(v) for v in registry_versions(c, unique_repo).versions}
    assert in_registry == {"1.0.0", *versions}
    # they really raced: at least one pipeline lost a push and moved on
    assert sum("lost the race" in " ".join(r["notes"]) for r in results) >= 1
