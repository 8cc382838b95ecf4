"""Versions from real git repositories: a bare remote, clones, tags, shallow and tag-less clones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hydro_ci import git
from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Signature
from hydro_ci.version.decision import Context, VersionDecision, decide, detect_branch
from hydro_ci.version.reserve import reserve
from hydro_ci.version.sources import IncompleteCloneError, git_versions, tag_name, tag_pattern

from .gitrepo import Clone, clone, make_remote, sh

CONTRACT = Contract("titanic", (Signature("predict", (Field("x", DType.float32, (-1, 3)),),
                                          (Field("y", DType.float32, (-1,)),)),))


@pytest.fixture
def first(tmp_path: Path) -> Clone:
    return make_remote(tmp_path)


def folder(c: Clone, config: dict[str, object] | None = None, contract: Contract | None = CONTRACT,
           name: str = "titanic") -> ModelFolder:
    return ModelFolder(root=c.path / "models/titanic", name=name, contract=contract, config=config or {})


def ctx(c: Clone, **kw: object) -> Context:
    args: dict[str, object] = {"folder": folder(c), "source": "git", "bump": "patch", "repo": c.path,
                               "branch": "main", "short_commit": git.short_commit(c.path)}
    args.update(kw)
    return Context(**args)  # type: ignore[arg-type]


def test_tags_of_this_model_only(first: Clone) -> None:
    first.tag("titanic-v0.1.0", "titanic-v0.2.0", "titanic-v1.0.0-rc.1", "titanic-vX", "titanic-v1.2",
              "mnist-v9.0.0", "v5.0.0", "titanic-v0.3.0+build")
    listing = git_versions(first.path, "{name}-v{version}", "titanic")
    assert sorted(str(v) for v in listing.versions) == ["0.1.0", "0.2.0", "1.0.0-rc.1"]
    assert sorted(t for t, _ in listing.skipped) == ["titanic-v0.3.0+build", "titanic-v1.2", "titanic-vX"]
    assert listing.ignored == 2
    single = git_versions(first.path, "v{version}", "titanic")
    assert [str(v) for v in single.versions] == ["5.0.0"]


def test_tag_format_round_trip() -> None:
    name = tag_name("{name}-v{version}", "a.b+c", "1.2.3")
    assert name == "a.b+c-v1.2.3"
    m = tag_pattern("{name}-v{version}", "a.b+c").match(name)
    assert m is not None and m["version"] == "1.2.3"
    assert tag_pattern("{name}-v{version}", "a.b+c").match("aXb+c-v1.2.3") is None


def test_shallow_clone_is_refused(first: Clone, tmp_path: Path) -> None:
    first.tag("titanic-v0.1.0")
    shallow = clone(first.remote, tmp_path / "shallow", "--depth", "1")
    with pytest.raises(IncompleteCloneError, match="shallow clone") as info:
        git_versions(shallow.path, "{name}-v{version}", "titanic")
    assert info.value.hint is not None and "fetch-depth: 0" in info.value.hint


def test_missing_tags_are_refused(first: Clone, tmp_path: Path) -> None:
    other = clone(first.remote, tmp_path / "other")
    other.tag("titanic-v0.1.0", "mnist-v1.0.0")
    with pytest.raises(IncompleteCloneError, match=r"titanic-v0\.1\.0") as info:
        git_versions(first.path, "{name}-v{version}", "titanic")
    assert info.value.hint is not None and "git fetch --tags" in info.value.hint
    # another model's tag missing here does not matter for this model
    sh(first.path, "fetch", "-q", "origin", "refs/tags/titanic-v0.1.0:refs/tags/titanic-v0.1.0")
    assert [str(v) for v in git_versions(first.path, "{name}-v{version}", "titanic").versions] == ["0.1.0"]


def test_no_remote_only_checks_shallowness(tmp_path: Path) -> None:
    sh(tmp_path, "init", "-q", "-b", "main")
    sh(tmp_path, "commit", "-q", "--allow-empty", "-m", "x")
    sh(tmp_path, "tag", "titanic-v2.0.0")
    assert [str(v) for v in git_versions(tmp_path, "{name}-v{version}", "titanic").versions] == ["2.0.0"]


@pytest.mark.parametrize(("tags", "bump", "branch", "wanted", "step"), [
    ([], "major", "main", "0.1.0", "step=initial"),                 # every first release is initial
    (["titanic-v0.1.0"], "major", "main", "0.2.0", "step=minor (0.x)"),  # the step taken, not asked
    (["titanic-v1.2.3", "titanic-v1.10.0"], "minor", "main", "1.11.0", "step=minor (--bump)"),
    (["titanic-v1.2.3"], "minor", "feature/x", "1.3.0-rc.1", "step=minor (--bump)"),
    (["titanic-v1.2.3", "titanic-v1.3.0-rc.1", "titanic-v1.3.0-rc.2"], "minor", "feature/x", "1.3.0-rc.3",
     "step=minor (--bump)"),
    (["titanic-v1.2.3", "titanic-v1.3.0-rc.2"], "minor", "main", "1.3.0", "step=minor (--bump)"),
])
def test_decide_from_git(first: Clone, tags: list[str], bump: str, branch: str, wanted: str,
                         step: str) -> None:
    if tags:
        first.tag(*tags)
    decision = decide(ctx(first, bump=bump, branch=branch))
    assert str(decision.version) == wanted
    assert decision.git_tag == f"titanic-v{wanted}"
    assert decision.full_version == f"{wanted}+{git.short_commit(first.path)}"
    data = decision.to_json()
    assert data["version"] == wanted and data["bump"]["text"] == step and data["bump"]["change"] is None
    assert data["prerelease"] == ("-" in wanted)
    assert VersionDecision.from_json(json.loads(json.dumps(data))) == decision  # version.json reads back


def test_auto_bump_diffs_against_previous_contract(first: Clone) -> None:
    first.tag("titanic-v1.0.0")
    added_input = Contract("titanic", (Signature("predict", (*CONTRACT.primary.inputs,
                                                             Field("z", DType.int64, ())),
                                                 CONTRACT.primary.outputs),))
    seen: list[str] = []

    def contract_of(release: object) -> Contract:
        seen.append(str(getattr(release, "ref", "")))
        return CONTRACT

    decision = decide(Context(folder=folder(first, contract=added_input), source="git", bump="auto",
                              repo=first.path, branch="main", contract_of=contract_of))
    assert seen == ["titanic-v1.0.0"]
    assert str(decision.version) == "2.0.0"
    assert "input-added" in decision.bump_reason
    assert decision.diff is not None and decision.diff.to_dict()["summary"] == "breaking"
    same = decide(Context(folder=folder(first), source="git", bump="auto", repo=first.path, branch="main",
                          contract_of=contract_of))
    assert str(same.version) == "1.0.1" and "no contract change" in same.bump_reason


def test_auto_bump_without_previous_is_initial_version(first: Clone) -> None:
    policy: dict[str, object] = {"version": {"initial": "1.0.0"}}
    decision = decide(Context(folder=folder(first, config=policy), source="git", bump="auto",
                              repo=first.path, branch="main"))
    assert str(decision.version) == "1.0.0" and decision.previous is None
    assert decision.bump_reason == "no previous version; the initial version 1.0.0"  # said once


def test_tag_set_uses_every_version_seen(first: Clone) -> None:
    first.tag("titanic-v1.2.0", "titanic-v2.0.0")
    decision = decide(ctx(first, bump="patch"))
    assert str(decision.version) == "2.0.1"
    names = [t.name for t in decision.tags]
    assert names[:4] == ["2.0.1", "2.0", "2", "latest"] and names[4].startswith("sha-")


def test_reserve_pushes_the_tag_and_the_loser_moves_on(first: Clone, tmp_path: Path) -> None:
    first.tag("titanic-v1.0.0")
    second = clone(first.remote, tmp_path / "second")
    winner: list[VersionDecision] = []

    def second_decides() -> VersionDecision:
        decision = decide(ctx(second))
        if not winner:  # the first pipeline reserves right after the second decided
            winner.append(reserve(lambda: decide(ctx(first)), first.path))
        return decision

    lost = reserve(second_decides, second.path)
    won = winner[0]
    assert won.reserved and str(won.version) == "1.0.1"
    assert lost.reserved and str(lost.version) == "1.0.2"
    assert any("lost the race for 1.0.1" in n for n in lost.notes)
    remote = git.remote_tags(first.path)
    assert remote["titanic-v1.0.1"] == git.local_tags(first.path)["titanic-v1.0.1"]


def test_same_commit_racers_make_different_tag_objects(first: Clone, tmp_path: Path) -> None:
    """A lightweight tag pushed twice for one commit is 'up to date', not rejected: we use annotated."""
    second = clone(first.remote, tmp_path / "second")
    a = git.create_tag(first.path, "titanic-v0.1.0", "run a")
    b = git.create_tag(second.path, "titanic-v0.1.0", "run b")
    assert a != b
    assert git.push_tag(first.path, "titanic-v0.1.0") is True
    assert git.push_tag(second.path, "titanic-v0.1.0") is False


def test_push_failure_that_is_not_a_race_is_an_error(first: Clone) -> None:
    git.create_tag(first.path, "titanic-v0.1.0", "x")
    sh(first.path, "remote", "set-url", "origin", str(first.path.parent / "gone.git"))
    with pytest.raises(git.GitError, match=r"push of tag titanic-v0\.1\.0"):
        git.push_tag(first.path, "titanic-v0.1.0")


def test_branch_detection(first: Clone) -> None:
    assert detect_branch(first.path, {}) == "main"
    assert detect_branch(first.path, {"GITHUB_HEAD_REF": "feat"}) == "feat"
    assert detect_branch(first.path, {"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v1"}) == "main"
    assert detect_branch(first.path, {"CI_COMMIT_BRANCH": "dev"}) == "dev"
    sh(first.path, "checkout", "-q", "--detach")
    assert detect_branch(first.path, {}) is None


def test_detached_head_makes_a_prerelease(first: Clone) -> None:
    decision = decide(ctx(first, branch=None))
    assert decision.version == "0.1.0-rc.1"
    assert any(n.startswith("HEAD is detached") and "not known to be a release branch" in n
               for n in decision.notes)


def test_contract_at_git_ref_reads_the_tagged_tree(first: Clone) -> None:
    from hydro_ci.contract.proto import to_prototxt
    from hydro_ci.version.contracts import contract_at_git_ref

    from .gitrepo import serving_yaml

    first.tag("titanic-v1.0.0", push=False)
    first.write("models/titanic/serving.yaml", serving_yaml(inputs={"x": "{shape: [8, 3], type: float32}"}))
    first.commit("narrow")
    old = contract_at_git_ref(first.path, "titanic-v1.0.0", "models/titanic")
    assert old == CONTRACT  # as tagged, not as checked out
    assert contract_at_git_ref(first.path, "titanic-v1.0.0", "models/nothing") is None
    narrowed = Signature("predict", (Field("x", DType.float32, (8, 3)),), CONTRACT.primary.outputs)
    first.write("models/titanic/contract.prototxt", to_prototxt(narrowed))
    first.commit("prototxt")
    assert contract_at_git_ref(first.path, "HEAD", "models/titanic/contract.prototxt") == Contract(
        "contract", (narrowed,))
    assert contract_at_git_ref(first.path, "HEAD", "models/titanic") == Contract("titanic", (narrowed,))


def test_auto_bump_reads_the_previous_contract_from_git(first: Clone) -> None:
    first.tag("titanic-v1.0.0")
    narrowed = Contract("titanic", (Signature("predict", (Field("x", DType.float32, (8, 3)),),
                                              CONTRACT.primary.outputs),))
    decision = decide(Context(folder=folder(first, contract=narrowed), source="git", bump="auto",
                              repo=first.path, branch="main"))
    assert str(decision.version) == "2.0.0"
    assert "input-dim-narrowed" in decision.bump_reason


FIXTURES = Path(__file__).parents[1] / "fixtures" / "models"


def test_auto_bump_infers_when_nothing_is_declared(first: Clone) -> None:
    """A folder with only a model file: both sides are read from the model files (git archive)."""
    onnx = first.path / "models/titanic/model.onnx"
    onnx.write_bytes((FIXTURES / "onnx_skl_classifier/model.onnx").read_bytes())
    (first.path / "models/titanic/serving.yaml").unlink()
    first.commit("onnx model")
    first.tag("titanic-v1.0.0")
    onnx.write_bytes((FIXTURES / "onnx_torch_dynamic_batch/model.onnx").read_bytes())
    first.commit("new model")
    decision = decide(Context(folder=folder(first, contract=None), source="git", bump="auto",
                              repo=first.path, branch="main"))
    assert str(decision.version) == "2.0.0"
    assert decision.diff is not None
    rules = {ch.rule for ch in decision.diff.changes}
    assert {"input-removed", "input-added", "output-removed", "output-added"} <= rules


def test_auto_bump_infers_the_previous_contract_when_only_the_new_folder_declares_one(first: Clone) -> None:
    """The tagged folder declared nothing, so its image carried the model file's contract: read it
    whatever the folder declares now (the pipeline also hands over its inferred contract filled in)."""
    from hydro_ci.infer import infer_folder

    onnx = first.path / "models/titanic/model.onnx"
    onnx.write_bytes((FIXTURES / "onnx_skl_classifier/model.onnx").read_bytes())
    (first.path / "models/titanic/serving.yaml").unlink()
    first.commit("onnx model")
    first.tag("titanic-v1.0.0")
    same = Contract("titanic", infer_folder(first.path / "models/titanic").contract.signatures)
    decision = decide(Context(folder=folder(first, contract=same), source="git", bump="auto",
                              repo=first.path, branch="main"))
    assert str(decision.version) == "1.0.1"
    assert decision.diff is not None and decision.diff.changes == ()


def test_tags_can_be_made_without_a_configured_identity(first: Clone,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """CI runners often have no user.name/user.email: reservation must still work."""
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
                "EMAIL"):
        monkeypatch.delenv(var, raising=False)
    oid = git.create_tag(first.path, "titanic-v0.1.0", "reserved")
    assert "tagger hydro-ci <hydro-ci@localhost>" in sh(first.path, "cat-file", "-p", oid)
