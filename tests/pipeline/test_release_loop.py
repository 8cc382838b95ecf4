"""The release loop (issue 14): `pipeline --push` after each change, in a git repository with a bare
remote, against the real registry.

Re-running on a released commit is a no-op (0 bytes, no version, no tag); a change is the next
version, recorded as an annotated git tag on the remote; the dry run's plan is the plan the real run
executes; every report names the bump one way (change class and the step taken)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from registry.faultproxy import FaultProxy

from .conftest import REPO, copy_example, git, hydro_ci, read_json

WRITES = {"PUT", "POST", "PATCH", "DELETE"}
NAME = "iris-sklearn"


@dataclass
class Loop:
    """A model repository with a bare remote, the registry (through a recording proxy), a CI job's
    working directory."""

    repo: Path
    remote: Path
    folder: Path
    work: Path
    image: str
    registry: Any
    proxy: FaultProxy
    clock: int = 1_800_000_000

    def run(self, *args: str, check: bool = True, image: str | None = None,
            **env: str) -> subprocess.CompletedProcess[str]:
        # No SOURCE_DATE_EPOCH: the image is dated by the folder's last commit, as in a plain CI job.
        full = {"HYDRO_CI_REGISTRY_USERNAME": self.registry.username,
                "HYDRO_CI_REGISTRY_PASSWORD": self.registry.password, "SOURCE_DATE_EPOCH": "", **env}
        return hydro_ci(["pipeline", str(self.folder), "--image", image or self.image, *args], self.work,
                        env=full, check=check)

    def commit(self, message: str) -> None:
        self.clock += 3600  # every commit an hour later: a new commit is a new epoch for its folder
        when = f"@{self.clock} +0000"
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
               "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        for args in (["add", "-A"], ["commit", "-qm", message], ["push", "-q", "origin", "main"]):
            subprocess.run(["git", *args], cwd=self.repo, env=env, check=True, capture_output=True)

    def registry_tags(self, image: str | None = None) -> list[str]:
        r = requests.get(f"{self.registry.url}/v2/{(image or self.image).split('/', 1)[1]}/tags/list",
                         auth=(self.registry.username, self.registry.password), timeout=10)
        return sorted(r.json().get("tags") or [])

    def registry_digest(self, tag: str, image: str | None = None) -> str | None:
        r = requests.head(f"{self.registry.url}/v2/{(image or self.image).split('/', 1)[1]}/manifests/{tag}",
                          auth=(self.registry.username, self.registry.password), timeout=10,
                          headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                                             "application/vnd.docker.distribution.manifest.v2+json"})
        return r.headers.get("Docker-Content-Digest") if r.status_code == 200 else None

    def remote_tags(self) -> str:
        return git(["ls-remote", "--tags", str(self.remote)], self.repo)

    def local_tags(self) -> str:
        return git(["tag", "-l"], self.repo)

    def out(self, name: str, model: str = NAME) -> Any:
        return read_json(self.work / ".hydro-ci" / model / name)

    def writes(self, since: int) -> list[str]:
        """The registry requests since ``since`` that could change it (uploads, manifests, deletes)."""
        return [f"{method} {path}" for method, path, _ in self.proxy.seen[since:] if method in WRITES]


@pytest.fixture
def loop(tmp_path: Path, registry: Any, unique_repo: str) -> Iterator[Loop]:
    remote = tmp_path / "remote.git"
    git(["init", "-q", "--bare", str(remote)], tmp_path)
    repo = tmp_path / "repo"
    copy_example(NAME, repo)
    git(["init", "-q", "-b", "main"], repo)
    git(["remote", "add", "origin", str(remote)], repo)
    work = tmp_path / "work"
    work.mkdir()
    with FaultProxy(registry.host) as proxy:
        state = Loop(repo, remote, repo / NAME, work, f"{proxy.host}/{unique_repo}", registry, proxy)
        state.commit("the model")
        yield state


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.mark.registry
def test_the_release_loop(loop: Loop, tmp_path: Path) -> None:
    # 1. The first release: 0.1.0, its git tag on the remote (annotated: version, digest, bump).
    first = loop.run("--push")
    pushed = loop.out("push.json")
    digest = pushed["digest"]
    assert loop.registry_digest("0.1.0") == digest
    assert f"refs/tags/{NAME}-v0.1.0" in loop.remote_tags()
    message = git(["for-each-ref", "--format=%(objecttype) %(contents)", f"refs/tags/{NAME}-v0.1.0"],
                  loop.repo)
    assert message.startswith(f"tag hydro-ci: {NAME} 0.1.0 released as {digest}")
    assert "bump: step=initial" in message and f"@{digest}" in message
    assert f"{NAME}-v0.1.0 (pushed to origin)" in first.stdout

    # 2. Again on the same commit (a re-run CI job): already released, nothing sent or made.
    registry_before, remote_before, local_before = loop.registry_tags(), loop.remote_tags(), loop.local_tags()
    seen = len(loop.proxy.seen)
    github = tmp_path / "gh-output"
    again = loop.run("--push", "--format", "github", "--json", str(tmp_path / "again.json"),
                     GITHUB_OUTPUT=str(github))
    assert again.stdout.startswith(f"{NAME}: already released as 0.1.0 ({digest})\n"), again.stdout
    assert f"[version] already released as 0.1.0 ({digest})" in again.stderr
    assert loop.writes(seen) == []  # 0 bytes: not one upload, manifest or tag request
    assert (loop.registry_tags(), loop.remote_tags(), loop.local_tags()) == (
        registry_before, remote_before, local_before)
    values = outputs(github)
    assert (values["version"], values["digest"], values["released"], values["step"]) == (
        "0.1.0", digest, "true", "none")
    assert json.loads(values["tags"]) == ["0.1.0"]
    summary = json.loads((tmp_path / "again.json").read_text())
    assert summary["version"] == "0.1.0" and summary["digest"] == digest
    assert summary["released"]["same"] == "image" and summary["push"] is None
    skipped = [s["status"] for s in summary["stages"] if s["name"] in ("build", "push", "tag")]
    assert skipped == ["skipped"] * 3

    # 3. A commit that ships nothing new (docs beside the model, and in its folder: a new epoch for
    #    it): still released as 0.1.0 — its version, created time and revision are set aside.
    (loop.repo / "README.md").write_text("# models\n")
    (loop.folder / "NOTES.md").write_text("trained on iris\n")  # not in the payload
    loop.commit("docs")
    seen = len(loop.proxy.seen)
    docs = loop.run("--push")
    assert docs.stdout.startswith(f"{NAME}: already released as 0.1.0 ({digest})"), docs.stdout
    assert loop.writes(seen) == [] and loop.registry_tags() == registry_before
    assert loop.remote_tags() == remote_before

    # 4. A code change: the dry run plans 0.1.1; the real run then executes exactly that plan.
    code = loop.folder / "src/func_main.py"
    code.write_text(code.read_text() + "# faster\n")
    loop.commit("code")
    planned = json.loads(loop.run("--push", "--dry-run", "--json", "-").stdout)
    assert planned["version"] == "0.1.1" and planned["released"] is None
    assert (planned["bump"]["change"], planned["bump"]["step"]) == ("patch", "patch")
    assert planned["git_tag"] == f"{NAME}-v0.1.1"
    assert loop.registry_digest("0.1.1") is None  # the dry run pushed nothing
    loop.run("--push")
    executed = loop.out("release-plan.json")
    assert executed == planned
    pushed = loop.out("push.json")
    assert pushed["digest"] == planned["base"]["manifest_digest"] == loop.registry_digest("0.1.1")
    assert pushed["tags"] == planned["tags"]
    assert loop.out("tag.json")["tag"] == planned["git_tag"]
    # the remote holds the annotated tag at the code commit, naming the digest and the bump
    ref = f"refs/tags/{NAME}-v0.1.1"
    assert git(["cat-file", "-t", ref], loop.remote).strip() == "tag"
    assert git(["rev-parse", f"{ref}^{{commit}}"], loop.remote) == git(["rev-parse", "HEAD"], loop.repo)
    annotation = git(["for-each-ref", "--format=%(contents)", ref], loop.remote)
    assert annotation.startswith(f"hydro-ci: {NAME} 0.1.1 released as {pushed['digest']}\n")
    assert "bump: change=patch, step=patch\n" in annotation
    decided = loop.out("version.json")
    assert decided["previous"]["ref"] == f"{NAME}-v0.1.0" and decided["disagreements"] == []


@pytest.mark.registry
def test_a_breaking_change_on_0x_says_the_change_and_the_step_taken(loop: Loop, tmp_path: Path) -> None:
    loop.run("--push")
    serving = loop.folder / "serving.yaml"
    serving.write_text(serving.read_text().replace("type: float64", "type: float32"))
    loop.commit("float32 features")
    github = tmp_path / "gh-output"
    proc = loop.run("--push", "--format", "github", "--json", str(tmp_path / "summary.json"),
                    GITHUB_OUTPUT=str(github))
    said = "change=breaking, step=minor (0.x)"
    assert proc.stdout.startswith(f"{NAME} 0.2.0 ({said})\n"), proc.stdout  # CLI text
    assert f"[version] 0.2.0 ({said}: contract diff against {NAME}-v0.1.0: breaking" in proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())  # JSON
    assert summary["version"] == "0.2.0"
    assert summary["bump"]["change"] == "breaking" and summary["bump"]["step"] == "minor"
    assert summary["bump"]["note"] == "0.x" and summary["bump"]["text"] == said
    words = {k: v for k, v in summary["bump"].items() if k != "reason"}  # the reason quotes major-on-zero
    assert "major" not in json.dumps(words) and "major" not in json.dumps(summary["diff"])
    values = outputs(github)  # GITHUB_OUTPUT
    assert (values["change"], values["step"], values["version"]) == ("breaking", "minor", "0.2.0")
    assert "bump" not in values
    assert f"**{said}** → `0.2.0`" in (loop.work / ".hydro-ci" / NAME / "summary.md").read_text()
    tag = git(["for-each-ref", "--format=%(contents)", f"refs/tags/{NAME}-v0.2.0"], loop.repo)
    assert f"bump: {said}" in tag


@pytest.mark.registry
def test_a_reserved_version_whose_build_failed_is_told_as_such(loop: Loop) -> None:
    failed = loop.run("--push", "--reserve", "--base-from", f"oci:{loop.work / 'missing'}:x", check=False)
    assert failed.returncode == 1, failed.stderr
    assert f"refs/tags/{NAME}-v0.1.0" in loop.remote_tags()  # reserved before the build
    assert loop.registry_tags() == []
    loop.run("--push")
    decided = loop.out("version.json")
    assert decided["version"] == "0.1.1"
    assert f"refs/tags/{NAME}-v0.1.1" in loop.remote_tags()  # recorded after its push
    (told,) = decided["disagreements"]
    assert told["version"] == "0.1.0" and told["only_in"] == "git"
    assert told["meaning"].startswith(f"tag {NAME}-v0.1.0 reserved it (run ")
    assert "build or push failed" in told["meaning"]
    notes = " ".join(loop.out("release-plan.json")["notes"])
    assert "pushed outside hydro-ci" not in notes


@pytest.mark.registry
def test_a_release_without_its_git_tag_is_not_blamed_on_the_user(loop: Loop) -> None:
    loop.run("--push", "--no-git-tag")
    assert f"{NAME}-v0.1.0" not in loop.remote_tags() + loop.local_tags()
    code = loop.folder / "src/func_main.py"
    code.write_text(code.read_text() + "# v2\n")
    loop.commit("code")
    loop.run("--push")
    (told,) = loop.out("version.json")["disagreements"]
    assert told["only_in"] == "registry" and "--no-git-tag" in told["meaning"]
    assert "pushed outside hydro-ci" not in told["meaning"]


@pytest.mark.registry
def test_a_given_version_whose_git_tag_exists_leaves_the_tag_alone(loop: Loop) -> None:
    """`--version` decides nothing: a version git already records (here at another commit, the
    release pushed to another repository) keeps its tag; the run succeeds and says so."""
    loop.run("--push")
    recorded = git(["rev-parse", f"refs/tags/{NAME}-v0.1.0"], loop.repo)
    code = loop.folder / "src/func_main.py"
    code.write_text(code.read_text() + "# v2\n")
    loop.commit("code")
    again = loop.run("--push", "--version", "0.1.0", image=f"{loop.image}/other")
    at = git(["rev-parse", "--short=12", f"{NAME}-v0.1.0^{{commit}}"], loop.repo)
    assert f"[tag] {NAME}-v0.1.0 already exists at {at}: not moved" in again.stderr
    assert git(["rev-parse", f"refs/tags/{NAME}-v0.1.0"], loop.repo) == recorded
    assert recorded in loop.remote_tags()
    # on the commit it records, the tag is the release's record already
    git(["checkout", "-q", f"{NAME}-v0.1.0"], loop.repo)
    same = loop.run("--push", "--version", "0.1.0", image=f"{loop.image}/third")
    assert f"[tag] {NAME}-v0.1.0 already exists at HEAD: not moved" in same.stderr


@pytest.mark.registry
def test_a_dry_run_without_push_reads_the_registry(tmp_path: Path, open_registry: Any,
                                                   unique_repo: str) -> None:
    """QA: `--dry-run` without `--push` planned 0.1.0 while the registry already held 0.1.0."""
    folder = copy_example("onnx-linear", tmp_path / "models")  # outside git: the registry is all there is
    work = tmp_path / "work"
    work.mkdir()
    image = f"{open_registry.host}/{unique_repo}"
    hydro_ci(["pipeline", str(folder), "--image", image, "--push"], work)
    plan = json.loads(hydro_ci(["pipeline", str(folder), "--image", image, "--dry-run", "--json", "-"],
                               work).stdout)
    assert plan["previous"]["ref"] == f"{image}:0.1.0"
    assert plan["version"] == "0.1.0" and plan["released"]["version"] == "0.1.0"
    serving = folder / "serving.yaml"
    serving.write_text(serving.read_text().replace("framework: pytorch", "framework: torch"))
    plan = json.loads(hydro_ci(["pipeline", str(folder), "--image", image, "--dry-run", "--json", "-"],
                               work).stdout)
    assert plan["version"] == "0.1.1" and plan["released"] is None
    # the real run without --push reads the same, and builds what the dry run planned
    hydro_ci(["pipeline", str(folder), "--image", image], work)
    assert read_json(work / ".hydro-ci/onnx-linear/release-plan.json") == plan


@pytest.mark.registry
def test_a_local_run_the_registry_refuses_versions_from_git_and_says_so(
        iris_repo: Path, workdir: Path, registry: Any, unique_repo: str) -> None:
    image = f"{registry.host}/{unique_repo}"  # no credentials given: the registry answers 401
    proc = hydro_ci(["pipeline", str(iris_repo), "--image", image, "--dry-run"], workdir)
    decided = read_json(workdir / ".hydro-ci/iris-sklearn/version.json")
    assert decided["version"] == "0.1.0" and decided["source"] == "git"
    assert any("could not be read" in n for n in decided["notes"]), decided["notes"]
    assert "could not be read" in proc.stdout  # the plan says it too
    pushing = hydro_ci(["pipeline", str(iris_repo), "--image", image, "--push", "--dry-run"], workdir,
                       check=False)
    assert pushing.returncode == 1 and "requires authentication" in pushing.stderr


def test_every_first_release_is_initial(iris_repo: Path, iris: Path, workdir: Path) -> None:
    """QA: a first release said `patch` inside git and `initial` outside it."""
    for folder in (iris_repo, iris):
        hydro_ci(["pipeline", str(folder), "--dry-run"], workdir)
        decided = read_json(workdir / ".hydro-ci/iris-sklearn/version.json")
        assert (decided["version"], decided["bump"]["step"], decided["bump"]["change"]) == (
            "0.1.0", "initial", None), folder
    answered = json.loads(hydro_ci(["version", "next", str(iris_repo), "--json"], workdir).stdout)
    assert answered["bump"]["step"] == "initial"


@pytest.mark.engine
@pytest.mark.registry
def test_the_engine_builder_prints_only_registry_digests_and_knows_its_commit_is_released(
        loop: Loop, docker_client: Any, busybox_base: str) -> None:
    """QA: the engine build printed `repo@<image id>` as if it were a pullable digest."""
    engine = ("--builder", "docker", "--base-image", busybox_base)
    try:
        local = loop.run(*engine)  # not pushed: the engine's image id is no digest
        built = loop.out("build.json")
        assert f"@{built['id']}" not in local.stderr + local.stdout
        assert f"engine image {built['id']} (digest: not pushed)" in local.stderr
        assert "  digest   not pushed" in local.stdout
        pushed = loop.run(*engine, "--push")
        digest = loop.registry_digest("0.1.0")
        assert digest is not None and loop.out("push.json")["digest"] == digest
        said = (pushed.stdout + pushed.stderr).split()
        printed = {w.split("@", 1)[1].rstrip(")") for w in said if "@sha256:" in w}
        assert printed == {digest}, printed  # every printed digest is the registry's
        assert f"  digest   {digest}\n" in pushed.stdout
        # the same commit again: the engine's bytes differ on every build, its commit does not
        again = loop.run(*engine, "--push")
        assert again.stdout.startswith(f"{NAME}: already released as 0.1.0 ({digest})"), again.stdout
        assert loop.out("version.json")["released"]["same"] == "commit"
    finally:
        import docker.errors

        for tag in ("0.1.0", "0.1", "latest"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(f"{loop.image}:{tag}", force=True)


@pytest.mark.registry
def test_each_model_of_a_serving_file_is_released_and_tagged_on_its_own(tmp_path: Path, registry: Any,
                                                                          unique_repo: str) -> None:
    """A serving file of two Models: each has its own image, versions and git tags, so a commit that
    changes one Model's code releases that one and leaves the other already released."""
    remote = tmp_path / "remote.git"
    git(["init", "-q", "--bare", str(remote)], tmp_path)
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "tests/fixtures/hydrosphere/several_models", repo / "pair")
    serving = repo / "pair/serving.yaml"
    serving.write_text(serving.read_text().replace("runtime:", "hydro-ci: {base-image: scratch}\nruntime:"))
    git(["init", "-q", "-b", "main"], repo)
    git(["remote", "add", "origin", str(remote)], repo)
    work = tmp_path / "work"
    work.mkdir()
    with FaultProxy(registry.host) as proxy:
        loop = Loop(repo, remote, repo / "pair", work, f"{proxy.host}/{unique_repo}", registry, proxy)
        loop.commit("two models")

        def run(model: str) -> subprocess.CompletedProcess[str]:
            return loop.run("--model", model, "--push", image=f"{loop.image}/{model}")

        for model in ("scorer", "ranker"):
            run(model)
        tags = loop.remote_tags()
        assert "refs/tags/scorer-v0.1.0" in tags and "refs/tags/ranker-v0.1.0" in tags
        digests = {m: loop.out("push.json", m)["digest"] for m in ("scorer", "ranker")}

        # both again on the same commit: each already released as its own 0.1.0, nothing sent
        seen = len(proxy.seen)
        for model in ("scorer", "ranker"):
            said = run(model).stdout
            assert said.startswith(f"{model}: already released as 0.1.0 ({digests[model]})"), said
        assert loop.writes(seen) == [] and loop.remote_tags() == tags

        # ranker's code changes: ranker 0.1.1 and its tag; scorer (same folder, new commit) is released
        code = loop.folder / "ranker/src/func_main.py"
        code.write_text(code.read_text() + "# stable sort\n")
        loop.commit("ranker: stable sort")
        assert run("scorer").stdout.startswith(f"scorer: already released as 0.1.0 ({digests['scorer']})")
        run("ranker")
        decided = loop.out("version.json", "ranker")
        assert (decided["version"], decided["previous"]["ref"]) == ("0.1.1", "ranker-v0.1.0")
        ranker = loop.out("push.json", "ranker")["digest"]
        assert loop.registry_digest("0.1.1", f"{loop.image}/ranker") == ranker
        after = loop.remote_tags()
        assert "refs/tags/ranker-v0.1.1" in after and "scorer-v0.1.1" not in after
        assert "0.1.1" not in loop.registry_tags(f"{loop.image}/scorer")
