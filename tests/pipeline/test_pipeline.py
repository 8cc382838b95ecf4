"""`hydro-ci pipeline` end to end on the bundled examples: daemonless build to dist/, the output
folder, single-stage re-runs, the dry-run plan, and a push to the real registry."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
import requests

from hydro_ci.contract.proto import from_protobin
from hydro_ci.infer.check import load_model_folder

from .conftest import copy_example, git, hydro_ci, init_repo, need_tool, read_json

STAGE_FILES = ("check.json", "contract.json", "version.json", "context/plan.json", "release-plan.json",
               "build.json", "summary.json", "summary.md")


def test_bundled_example_builds_daemonless_to_an_oci_layout(iris: Path, workdir: Path,
                                                             tmp_path: Path) -> None:
    proc = hydro_ci(["pipeline", str(iris)], workdir)
    out = workdir / ".hydro-ci" / "iris-sklearn"
    for name in STAGE_FILES:
        assert (out / name).is_file(), name
    assert not (out / "push.json").exists()  # nothing pushed without --push
    summary = read_json(out / "summary.json")
    layout = workdir / summary["layout"]
    assert layout == workdir / "dist" / "iris-sklearn-0.1.0.oci"
    assert summary["version"] == "0.1.0" and summary["tags"][0] == "0.1.0"
    assert summary["digest"] in proc.stdout and "dist/iris-sklearn-0.1.0.tar" in proc.stdout

    # skopeo reads the layout: the digest, labels and contract label are the pipeline's.
    need_tool("skopeo")
    inspect = json.loads(subprocess.run(["skopeo", "inspect", f"oci:{layout}:0.1.0"], check=True,
                                        capture_output=True, text=True).stdout)
    assert inspect["Digest"] == summary["digest"]
    assert inspect["Labels"]["MODEL_NAME"] == "iris-sklearn"
    assert inspect["Labels"]["MODEL_VERSION"] == "0.1.0"
    label = json.loads(inspect["Labels"]["io.hydro-ci.contract"])
    assert label == read_json(out / "contract.json")["contract"]

    # umoci unpacks it: the payload under /model/files, the binary contract equal to the declared one.
    need_tool("umoci")
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--rootless", "--image", f"{layout}:0.1.0", str(bundle)],
                   check=True, capture_output=True)
    rootfs = bundle / "rootfs"
    for rel in ("src/func_main.py", "requirements.txt", "model.joblib"):
        assert (rootfs / "model/files" / rel).read_bytes() == (iris / rel).read_bytes()
    declared = load_model_folder(iris).contract
    assert declared is not None
    assert from_protobin((rootfs / "model/contract.protobin").read_bytes()) == declared.primary

    # the docker-archive names the version tag (what `docker load` will tag it as)
    with tarfile.open(workdir / summary["archive"]) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert "iris-sklearn:0.1.0" in manifest[0]["RepoTags"]


def test_summary_markdown_has_contract_version_and_layers(iris: Path, workdir: Path) -> None:
    hydro_ci(["pipeline", str(iris)], workdir)
    md = (workdir / ".hydro-ci/iris-sklearn/summary.md").read_text()
    assert "| input | `features` | float64 | [-1, 4] | numerical |" in md
    assert "| output | `species` | int64 | [-1] | categorical |" in md
    assert "`0.1.0`" in md and "### Layers" in md and "sha256:" in md


def test_same_input_same_digest_in_another_place(iris: Path, workdir: Path, tmp_path: Path) -> None:
    hydro_ci(["pipeline", str(iris)], workdir)
    other = copy_example("iris-sklearn", tmp_path / "elsewhere")
    other_work = tmp_path / "work2"
    other_work.mkdir()
    hydro_ci(["pipeline", str(other)], other_work)
    first = read_json(workdir / ".hydro-ci/iris-sklearn/build.json")["digest"]
    second = read_json(other_work / ".hydro-ci/iris-sklearn/build.json")["digest"]
    assert first == second


def test_a_stage_reruns_alone_from_the_output_folder(iris: Path, workdir: Path) -> None:
    hydro_ci(["pipeline", str(iris)], workdir)
    out = workdir / ".hydro-ci/iris-sklearn"
    built = read_json(out / "build.json")
    (out / "build.json").unlink()
    shutil.rmtree(workdir / "dist")
    # build alone: reads version.json and the rendered context/, writes build.json and dist/ again
    hydro_ci(["pipeline", str(iris), "--only", "build"], workdir)
    assert read_json(out / "build.json")["digest"] == built["digest"]
    assert (workdir / "dist/iris-sklearn-0.1.0.oci/index.json").is_file()
    # summary alone: from the files only
    (out / "summary.json").unlink()
    hydro_ci(["pipeline", str(iris), "--only", "summary"], workdir)
    assert read_json(out / "summary.json")["digest"] == built["digest"]


def test_a_stage_alone_without_its_inputs_says_which_file_is_missing(iris: Path, workdir: Path) -> None:
    proc = hydro_ci(["pipeline", str(iris), "--only", "build"], workdir, check=False)
    assert proc.returncode == 1
    assert "version.json does not exist (stage version writes it)" in proc.stderr
    assert "--only version" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_large_files_are_linked_and_a_change_after_render_stops_the_build(iris: Path, workdir: Path) -> None:
    import os

    lookup = iris / "src/lookup.bin"
    lookup.write_bytes(os.urandom(2 << 20))
    proc = hydro_ci(["pipeline", str(iris)], workdir)
    assert "1 large file linked, not copied" in proc.stdout + proc.stderr
    context = workdir / ".hydro-ci/iris-sklearn/context"
    assert (context / "model/files/src/lookup.bin").is_symlink()
    assert not (context / "model/files/model.joblib").is_symlink()
    first = read_json(workdir / ".hydro-ci/iris-sklearn/build.json")["digest"]
    # rewritten between a render and a build run alone: the rendered plan no longer describes it
    lookup.write_bytes(os.urandom(2 << 20))
    proc = hydro_ci(["pipeline", str(iris), "--only", "build"], workdir, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"payload file {lookup.resolve()} changed after the context" in proc.stderr
    assert "render" in proc.stderr.splitlines()[-1]
    # the release plan writes layers into the cache too: it refuses the same way, and caches nothing
    proc = hydro_ci(["pipeline", str(iris), "--only", "plan"], workdir, check=False)
    assert proc.returncode == 1 and "changed after the context" in proc.stderr
    hydro_ci(["pipeline", str(iris), "--only", "render", "--only", "build"], workdir)
    assert read_json(workdir / ".hydro-ci/iris-sklearn/build.json")["digest"] != first


def test_dry_run_builds_nothing_and_prints_the_plan(iris: Path, workdir: Path) -> None:
    proc = hydro_ci(["pipeline", str(iris), "--dry-run", "--json", "plan.json"], workdir)
    assert not (workdir / "dist").exists()
    assert not (workdir / ".hydro-ci/iris-sklearn/build.json").exists()
    plan = read_json(workdir / "plan.json")
    assert plan == read_json(workdir / ".hydro-ci/iris-sklearn/release-plan.json")
    assert plan["version"] == "0.1.0" and plan["bump"]["step"] == "initial"
    assert plan["base"]["ref"] == "scratch"
    assert [la["class"] for la in plan["layers"]] == ["deps", "weights", "code", "contract"]
    assert all(la["digest"].startswith("sha256:") for la in plan["layers"])
    assert plan["contract"]["source"] == "declared"
    assert "release plan for iris-sklearn" in proc.stdout and "layers: 4" in proc.stdout
    # the plan's layers are the ones the real build then makes
    hydro_ci(["pipeline", str(iris)], workdir)
    built = read_json(workdir / ".hydro-ci/iris-sklearn/build.json")
    assert [la["digest"] for la in built["layers"]] == [la["digest"] for la in plan["layers"]]


@pytest.mark.frameworks
@pytest.mark.parametrize("example, source, inputs", [
    ("onnx-linear", "inferred", [("features", "float32", [-1, 3])]),
    ("tf-savedmodel", "inferred", [("x", "float32", [-1, 2])]),
])
def test_inferred_contract_examples(example: str, source: str, inputs: list[tuple[str, str, list[int]]],
                                    tmp_path: Path, workdir: Path) -> None:
    folder = copy_example(example, tmp_path / "models")
    hydro_ci(["pipeline", str(folder)], workdir)
    contract = read_json(workdir / ".hydro-ci" / example / "contract.json")
    assert contract["source"] == source
    got = [(f["name"], f["dtype"], f["shape"]) for f in contract["contract"]["signatures"][0]["inputs"]]
    assert got == inputs
    assert (workdir / "dist" / f"{example}-0.1.0.oci" / "index.json").is_file()


def test_contract_problem_fails_with_a_github_annotation(iris: Path, workdir: Path) -> None:
    serving = iris / "serving.yaml"
    serving.write_text(serving.read_text().replace("type: float64", "type: float65"))
    proc = hydro_ci(["pipeline", str(iris), "--format", "github"], workdir, check=False)
    assert proc.returncode == 1
    assert "::error file=" in proc.stdout and "line=" in proc.stdout
    assert "float65" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (workdir / "dist").exists()


def test_github_format_writes_outputs_and_job_summary(iris: Path, workdir: Path) -> None:
    outputs = workdir / "gh-output"
    step_summary = workdir / "gh-summary.md"
    hydro_ci(["pipeline", str(iris), "--format", "github"], workdir,
             env={"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(step_summary)})
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    summary = read_json(workdir / ".hydro-ci/iris-sklearn/summary.json")
    assert values["version"] == "0.1.0"
    assert values["digest"] == summary["digest"]
    assert json.loads(values["tags"])[0] == "0.1.0"
    assert values["plan"].endswith("release-plan.json") and Path(workdir / values["plan"]).is_file()
    assert "### Contract" in step_summary.read_text()


@pytest.mark.registry
def test_push_to_the_registry_then_the_plan_knows_the_layers_are_there(
        iris_repo: Path, workdir: Path, registry, unique_repo: str) -> None:  # type: ignore[no-untyped-def]
    iris = iris_repo
    image = f"{registry.host}/{unique_repo}"
    env = {"HYDRO_CI_REGISTRY_USERNAME": registry.username, "HYDRO_CI_REGISTRY_PASSWORD": registry.password}
    proc = hydro_ci(["pipeline", str(iris), "--image", image, "--push"], workdir, env=env)
    assert registry.password not in proc.stdout + proc.stderr
    out = workdir / ".hydro-ci/iris-sklearn"
    pushed = read_json(out / "push.json")
    built = read_json(out / "build.json")
    assert pushed["digest"] == built["digest"]
    assert pushed["bytes_uploaded"] > 0
    version = read_json(out / "version.json")
    assert version["source"] == "both"  # in a git work tree and pushing: git tags and the registry
    tags = requests.get(f"{registry.url}/v2/{unique_repo}/tags/list",
                        auth=(registry.username, registry.password), timeout=10).json()["tags"]
    assert {"0.1.0", "0.1", "latest"} <= set(tags)
    assert registry.password not in (out / "summary.json").read_text()

    # the next run sees 0.1.0 in the registry: the same commit is already released as it
    plan = json.loads(hydro_ci(["pipeline", str(iris), "--image", image, "--push", "--dry-run",
                                "--json", "-"], workdir, env=env).stdout)
    assert plan["previous"]["version"] == "0.1.0"
    assert plan["version"] == "0.1.0" and plan["released"]["digest"] == pushed["digest"]
    assert plan["diff"]["summary"] == "patch" and plan["bump"]["step"] == "none"
    # a patch asked for anyway (--bump patch: a new version wanted): every layer of 0.1.1 is
    # byte-identical to 0.1.0's except the labels (config), so all are in the registry
    plan = json.loads(hydro_ci(["pipeline", str(iris), "--image", image, "--push", "--dry-run",
                                "--bump", "patch", "--json", "-"], workdir, env=env).stdout)
    assert plan["version"] == "0.1.1" and plan["released"] is None
    assert all(la["in_registry"] is True for la in plan["layers"])
    assert plan["bytes_to_upload"] == 0


def test_push_without_image_is_a_usage_error(iris: Path, workdir: Path) -> None:
    proc = hydro_ci(["pipeline", str(iris), "--push"], workdir, check=False)
    assert proc.returncode == 2 and "--push needs --image" in proc.stderr


@pytest.mark.engine
def test_the_engine_builder_on_a_base_in_the_engine(iris: Path, workdir: Path, docker_client,  # type: ignore[no-untyped-def]
                                                    busybox_base: str) -> None:
    image = f"hydro-ci-test/pipeline-{uuid.uuid4().hex[:8]}"
    try:
        proc = hydro_ci(["pipeline", str(iris), "--builder", "docker", "--base-image", busybox_base,
                         "--image", image], workdir)
        built = read_json(workdir / ".hydro-ci/iris-sklearn/build.json")
        assert built["builder"] == "docker" and built["id"] in proc.stdout
        engine_image = docker_client.images.get(f"{image}:0.1.0")
        assert engine_image.id == built["id"]
        assert engine_image.labels["MODEL_VERSION"] == "0.1.0"
        assert f"{image}:latest" in engine_image.tags
        assert not (workdir / "dist").exists()  # the engine keeps the image; nothing under dist/
    finally:
        import docker.errors

        for tag in ("0.1.0", "0.1", "latest"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(f"{image}:{tag}", force=True)


@pytest.mark.engine
def test_a_real_base_from_an_oci_layout(iris: Path, workdir: Path, busybox_layout: Path,
                                        tmp_path: Path) -> None:
    hydro_ci(["pipeline", str(iris), "--base-image", "hydro-ci-test/busybox:1",
              "--base-from", f"oci:{busybox_layout}:base"], workdir)
    plan = read_json(workdir / ".hydro-ci/iris-sklearn/release-plan.json")
    assert plan["base"]["ref"] == f"oci:{busybox_layout}:base"
    need_tool("umoci")
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--rootless", "--image",
                    f"{workdir / 'dist/iris-sklearn-0.1.0.oci'}:0.1.0", str(bundle)],
                   check=True, capture_output=True)
    assert (bundle / "rootfs/bin/busybox").is_file()  # the base's files
    assert (bundle / "rootfs/model/files/model.joblib").is_file()  # and ours on top


@pytest.mark.registry
def test_a_failed_push_still_leaves_a_summary_saying_where_it_stopped(
        iris: Path, workdir: Path, registry, unique_repo: str) -> None:  # type: ignore[no-untyped-def]
    step_summary = workdir / "gh-summary.md"
    env = {"HYDRO_CI_REGISTRY_USERNAME": registry.username, "HYDRO_CI_REGISTRY_PASSWORD": "wrong-secret-1",
           "GITHUB_STEP_SUMMARY": str(step_summary)}
    proc = hydro_ci(["pipeline", str(iris), "--image", f"{registry.host}/{unique_repo}", "--push",
                     "--version", "1.0.0", "--format", "github"], workdir, env=env, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "\nerror: " in proc.stderr and "Traceback" not in proc.stderr
    assert "wrong-secret-1" not in proc.stdout + proc.stderr
    summary = read_json(workdir / ".hydro-ci/iris-sklearn/summary.json")
    assert summary["failed"]["stage"] == "push"
    assert summary["digest"]  # the build before it succeeded
    assert "**Failed at stage push:**" in step_summary.read_text()
    assert "wrong-secret-1" not in step_summary.read_text()


def test_reserve_takes_each_version_once_through_the_git_remote(tmp_path: Path, workdir: Path) -> None:
    remote = tmp_path / "remote.git"
    git(["init", "-q", "--bare", str(remote)], tmp_path)
    root = tmp_path / "clone"
    copy_example("iris-sklearn", root)
    init_repo(root)
    git(["remote", "add", "origin", str(remote)], root)
    git(["push", "-q", "origin", "main"], root)
    folder = root / "iris-sklearn"
    hydro_ci(["pipeline", str(folder), "--reserve", "--only", "check", "--only", "contract",
              "--only", "version"], workdir)
    first = read_json(workdir / ".hydro-ci/iris-sklearn/version.json")
    hydro_ci(["pipeline", str(folder), "--reserve", "--only", "check", "--only", "contract",
              "--only", "version"], workdir)
    second = read_json(workdir / ".hydro-ci/iris-sklearn/version.json")
    assert first["reserved"] and second["reserved"]
    assert (first["version"], second["version"]) == ("0.1.0", "0.1.1")
    tags = git(["ls-remote", "--tags", "--refs", str(remote)], tmp_path)
    assert "refs/tags/iris-sklearn-v0.1.0" in tags and "refs/tags/iris-sklearn-v0.1.1" in tags


def test_the_cli_lists_the_stages_the_pipeline_runs() -> None:
    from hydro_ci.cli.pipeline import STAGES as CLI_STAGES
    from hydro_ci.pipeline import STAGE_NAMES

    assert CLI_STAGES == STAGE_NAMES


@pytest.mark.registry
def test_build_in_one_step_push_in_a_later_one(iris: Path, workdir: Path, registry,  # type: ignore[no-untyped-def]
                                               unique_repo: str) -> None:
    image = f"{registry.host}/{unique_repo}"
    hydro_ci(["pipeline", str(iris), "--image", image], workdir)  # build only: nothing pushed
    built = read_json(workdir / ".hydro-ci/iris-sklearn/build.json")
    env = {"HYDRO_CI_REGISTRY_USERNAME": registry.username, "HYDRO_CI_REGISTRY_PASSWORD": registry.password}
    # a later CI step, from the output folder and dist/ the first one left
    hydro_ci(["pipeline", str(iris), "--image", image, "--push", "--only", "push", "--only", "summary"],
             workdir, env=env)
    pushed = read_json(workdir / ".hydro-ci/iris-sklearn/push.json")
    assert pushed["digest"] == built["digest"]
    head = requests.head(f"{registry.url}/v2/{unique_repo}/manifests/0.1.0",
                         auth=(registry.username, registry.password), timeout=10,
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert head.headers["Docker-Content-Digest"] == built["digest"]
    assert read_json(workdir / ".hydro-ci/iris-sklearn/summary.json")["push"]["digest"] == built["digest"]


def test_terminal_display_shows_brackets_in_messages_as_text(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    # On a terminal, progress goes through rich; a Dockerfile step such as `RUN echo [/x]` must be
    # printed as written, not parsed as markup (which raised MarkupError: a traceback).
    import hydro_ci.cli.progress as cli_progress
    from hydro_ci.cli.pipeline import _display
    from hydro_ci.pipeline.stages import STAGE_EVENT
    from hydro_ci.progress import ProgressEvent

    monkeypatch.setattr(cli_progress, "plain_output", lambda: False)
    with _display() as live:
        live(ProgressEvent(stage="build", message="Step 2/4 : RUN echo [/oops] [bold]x"))
        live(ProgressEvent(stage="render", message="ctx/[red]: 3 files", id=STAGE_EVENT))
    err = capsys.readouterr().err
    assert "RUN echo [/oops] [bold]x" in err and "ctx/[red]: 3 files" in err


def test_contract_stage_alone_refuses_a_declaration_the_model_contradicts(tmp_path: Path,
                                                                          workdir: Path) -> None:
    folder = copy_example("onnx-linear", tmp_path / "models")
    serving = folder / "serving.yaml"
    serving.write_text(serving.read_text() + (
        "contract:\n  name: predict\n  inputs:\n    features: {shape: [-1, 3], type: int64}\n"
        "  outputs:\n    scores: {shape: [-1, 2], type: float32}\n"))
    proc = hydro_ci(["pipeline", str(folder), "--only", "contract"], workdir, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "declared dtype int64, model.onnx has float32 [model-dtype]" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


# --- versioning regressions (QA) ---------------------------------------------------------------

def test_a_folder_declaring_no_contract_versions_after_a_tag_as_version_next_does(
        tmp_path: Path, workdir: Path) -> None:
    """QA: the pipeline failed with 'cannot read the contract of the previous version' for a folder
    whose contract comes from its model file, while `version next` answered."""
    root = tmp_path / "repo"
    folder = copy_example("onnx-linear", root)
    init_repo(root)
    git(["tag", "onnx-linear-v3.0.0"], root)  # the tag-format default: {name}-v{version}
    decided_file = workdir / ".hydro-ci/onnx-linear/version.json"

    with (folder / "serving.yaml").open("a", encoding="utf-8") as f:
        f.write("# a metadata change, same model\n")
    git(["commit", "-q", "-am", "comment"], root)
    hydro_ci(["pipeline", str(folder), "--dry-run"], workdir)
    decided = read_json(decided_file)
    answered = hydro_ci(["version", "next", str(folder)], workdir).stdout.strip()
    assert decided["version"] == answered == "3.0.1"
    assert decided["previous"]["ref"] == "onnx-linear-v3.0.0" and decided["diff"]["summary"] == "patch"

    # another model file: the tagged commit's model file is read too, so the change is seen
    fixture = Path(__file__).resolve().parents[1] / "fixtures/models/onnx_skl_classifier/model.onnx"
    shutil.copyfile(fixture, folder / "model.onnx")
    git(["commit", "-q", "-am", "another model"], root)
    hydro_ci(["pipeline", str(folder), "--dry-run"], workdir)
    decided = read_json(decided_file)
    answered = hydro_ci(["version", "next", str(folder)], workdir).stdout.strip()
    assert decided["version"] == answered == "4.0.0"
    assert decided["diff"]["summary"] == "breaking"


def test_a_push_from_outside_git_is_a_release(tmp_path: Path, workdir: Path, open_registry,  # type: ignore[no-untyped-def]
                                              unique_repo: str) -> None:
    """QA: outside git there is no branch, so nothing makes the build a pre-release (it was 0.1.0-rc.1)."""
    folder = copy_example("onnx-linear", tmp_path / "models")
    image = f"{open_registry.host}/{unique_repo}"
    hydro_ci(["pipeline", str(folder), "--image", image, "--push"], workdir)
    decided = read_json(workdir / ".hydro-ci/onnx-linear/version.json")
    assert decided["source"] == "registry" and decided["branch"] is None
    assert decided["version"] == "0.1.0"
    assert any("not in a git work tree" in n for n in decided["notes"])
    tags = requests.get(f"{open_registry.url}/v2/{unique_repo}/tags/list", timeout=10).json()["tags"]
    assert sorted(tags) == ["0.1", "0.1.0", "latest"]

    # the next run reads 0.1.0 from the registry: the same folder is already released as it
    plan = json.loads(hydro_ci(["pipeline", str(folder), "--image", image, "--push", "--dry-run",
                                "--json", "-"], workdir).stdout)
    assert plan["version"] == "0.1.0" and plan["released"]["same"] == "image"
    # a file the payload does not ship changes nothing; new metadata (a label) is a new image, and
    # `version next` agrees on its version
    (folder / "NOTES.txt").write_text("retrained\n")
    plan = json.loads(hydro_ci(["pipeline", str(folder), "--image", image, "--push", "--dry-run",
                                "--json", "-"], workdir).stdout)
    assert plan["version"] == "0.1.0" and plan["released"] is not None
    serving = folder / "serving.yaml"
    serving.write_text(serving.read_text().replace("  framework: pytorch\n",
                                                   "  framework: pytorch\n  owner: ml\n"))
    plan = json.loads(hydro_ci(["pipeline", str(folder), "--image", image, "--push", "--dry-run",
                                "--json", "-"], workdir).stdout)
    answered = hydro_ci(["version", "next", str(folder), "--source", "registry", "--image", image],
                        workdir).stdout.strip()
    assert plan["version"] == answered == "0.1.1" and plan["released"] is None


@pytest.mark.parametrize(("env", "wanted"), [
    ({}, "0.1.0-rc.1"),                                                  # a plain `git checkout SHA`
    ({"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v9"}, "0.1.0-rc.1"),  # Actions on a tag
    ({"GITHUB_HEAD_REF": "feat", "GITHUB_REF_NAME": "1/merge"}, "0.1.0-rc.1"),  # a PR merge commit
    ({"GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main"}, "0.1.0"),  # Actions on main
    ({"CI_COMMIT_BRANCH": "main"}, "0.1.0"),                             # GitLab (always detached)
])
def test_a_detached_head_is_a_prerelease_unless_ci_names_a_release_branch(
        tmp_path: Path, workdir: Path, env: dict[str, str], wanted: str) -> None:
    root = tmp_path / "repo"
    folder = copy_example("onnx-linear", root)
    init_repo(root)
    git(["checkout", "-q", "--detach"], root)
    env = {"CI_COMMIT_BRANCH": "", **env}  # whatever CI runs these tests
    hydro_ci(["pipeline", str(folder), "--dry-run"], workdir, env=env)
    decided = read_json(workdir / ".hydro-ci/onnx-linear/version.json")
    answered = hydro_ci(["version", "next", str(folder)], workdir, env=env).stdout.strip()
    assert decided["version"] == answered == wanted
    if not env.get("GITHUB_HEAD_REF") and wanted != "0.1.0":
        assert any(n.startswith("HEAD is detached") for n in decided["notes"])
