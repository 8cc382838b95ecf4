"""The GitHub Action: linted by actionlint, and run on a real runner (nektos/act in host mode)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from .conftest import REPO, git, need_tool

E2E_WORKFLOW = REPO / "tests/pipeline/act/action-e2e.yml"
WORKFLOWS = sorted((REPO / ".github/workflows").glob("*.yml"))


def actionlint(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = need_tool("actionlint")
    return subprocess.run([exe, "-no-color", *map(str, files)], cwd=cwd, capture_output=True, text=True)


def test_workflows_and_action_pass_actionlint() -> None:
    assert WORKFLOWS, "the example workflow is missing"
    # `uses: ./` makes actionlint read action.yml and check every `with:` against its inputs
    proc = actionlint([*WORKFLOWS, E2E_WORKFLOW], REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_reads_our_action_metadata(tmp_path: Path) -> None:
    """Control: an input the action does not declare is reported, so the check above can fail."""
    shutil.copy(REPO / "action.yml", tmp_path / "action.yml")
    workflows = tmp_path / ".github/workflows"
    workflows.mkdir(parents=True)
    bad = E2E_WORKFLOW.read_text().replace("model-path:", "model-paths:")
    (workflows / "bad.yml").write_text(bad)
    git(["init", "-q"], tmp_path)
    proc = actionlint([workflows / "bad.yml"], tmp_path)
    assert proc.returncode == 1
    assert 'input "model-paths" is not defined in action "hydro-ci"' in proc.stdout


def test_action_inputs_reach_scripts_only_through_env() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    scripts = [s["run"] for s in action["runs"]["steps"] if "run" in s]
    assert scripts
    for script in scripts:
        assert "${{" not in script, script
    declared = set(action["inputs"])
    used = {m for s in action["runs"]["steps"] for v in (s.get("env") or {}).values()
            for m in re.findall(r"inputs\.([a-z-]+)", str(v))}
    assert used == declared  # every input is wired, none invented
    shellcheck = shutil.which("shellcheck")
    if shellcheck:
        for script in scripts:
            proc = subprocess.run([shellcheck, "-s", "bash", "-"], input=script, capture_output=True,
                                  text=True)
            assert proc.returncode == 0, proc.stdout


def test_the_action_declares_every_output_the_pipeline_writes() -> None:
    """A composite action passes on only the outputs it declares (act hands on all of them, so the
    run below cannot tell): action.yml's outputs are exactly what `--format github` writes."""
    from hydro_ci.integrations.github import outputs as written
    from hydro_ci.pipeline.records import Summary

    action = yaml.safe_load((REPO / "action.yml").read_text())
    names = set(written(Summary(None, "m", None, False, "oci", None)))
    assert set(action["outputs"]) == names
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.pipeline.outputs.{name} }}}}", name


@pytest.mark.slow
@pytest.mark.own_env
@pytest.mark.registry
def test_the_action_on_a_real_runner(registry, unique_repo: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    act = need_tool("act")
    project = tmp_path / "runner"
    (project / ".github/workflows").mkdir(parents=True)
    shutil.copy(E2E_WORKFLOW, project / ".github/workflows/action-e2e.yml")
    git(["init", "-q", "-b", "main"], project)  # act takes GITHUB_REF (refs/heads/main) from here
    git(["commit", "-q", "--allow-empty", "-m", "runner"], project)
    results = tmp_path / "results"
    results.mkdir()
    image = f"{registry.host}/{unique_repo}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HYDRO_CI_REGISTRY"))}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    proc = subprocess.run(
        [act, "push", "-P", "ubuntu-latest=-self-hosted", "--action-offline-mode",
         "-W", ".github/workflows/action-e2e.yml",
         "--env", f"HYDRO_CI_SRC={REPO}", "--env", f"TEST_IMAGE={image}",
         "--env", f"TEST_REGISTRY_USER={registry.username}", "--env", f"TEST_RESULTS={results}",
         "--env", "SOURCE_DATE_EPOCH=1700000000",
         "--secret", f"TEST_REGISTRY_PASSWORD={registry.password}"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert registry.password not in log  # masked (::add-mask::) and never printed

    outputs = json.loads((results / "outputs.json").read_text())
    assert outputs["version"] == "0.1.0"
    assert outputs["image"] == image
    assert (outputs["change"], outputs["step"], outputs["released"]) == ("", "initial", "false")
    tags = json.loads(outputs["tags"])
    assert tags[0] == "0.1.0" and "latest" in tags
    assert outputs["digest"].startswith("sha256:")
    plan = json.loads((results / "hydro-ci/iris-sklearn/release-plan.json").read_text())
    assert outputs["plan"].endswith("release-plan.json") and plan["version"] == "0.1.0"

    # the job summary the runner received (act echoes $GITHUB_STEP_SUMMARY after the step)
    assert "Summary - ## hydro-ci: iris-sklearn 0.1.0" in log
    assert "| input | `features` | float64 | [-1, 4] | numerical |" in log
    assert outputs["digest"] in log.split("Summary - ", 1)[1]

    # a contract problem fails the step with an annotation on the file and line
    assert (results / "broken-outcome").read_text() == "failure"
    assert "::error file=broken/serving.yaml,line=13," in log and "float65" in log

    # and the image is in the registry, under every tag, with the digest the action reported
    auth = (registry.username, registry.password)
    listed = requests.get(f"{registry.url}/v2/{unique_repo}/tags/list", auth=auth, timeout=10).json()
    assert set(tags) <= set(listed["tags"])
    head = requests.head(f"{registry.url}/v2/{unique_repo}/manifests/0.1.0", auth=auth, timeout=10,
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert head.headers["Docker-Content-Digest"] == outputs["digest"]
