"""A model folder with uncommitted changes is not HEAD: no sha-<commit> tag and no revision label
name it, while a clean one gets both."""

from __future__ import annotations

from pathlib import Path

from hydro_ci.image import layout

from .conftest import git, hydro_ci, read_json

REVISION = "org.opencontainers.image.revision"


def _run(folder: Path, work: Path) -> tuple[list[str], dict[str, str]]:
    work.mkdir()
    hydro_ci(["pipeline", str(folder)], work)
    out = work / ".hydro-ci" / folder.name
    tags = [t["tag"] for t in read_json(out / "version.json")["tags"]]
    summary = read_json(out / "summary.json")
    labels = dict(layout.read_layout(work / summary["layout"], summary["version"]).config.labels)
    return tags, labels


def test_uncommitted_changes_get_no_commit_tag_or_revision(iris_repo: Path, tmp_path: Path) -> None:
    head = git(["rev-parse", "HEAD"], iris_repo)
    tags, labels = _run(iris_repo, tmp_path / "clean")
    assert f"sha-{head[:7]}" in tags and labels[REVISION] == head
    (iris_repo / "src/func_main.py").write_text((iris_repo / "src/func_main.py").read_text() + "# wip\n")
    tags, labels = _run(iris_repo, tmp_path / "dirty")
    assert not [t for t in tags if t.startswith("sha-")] and REVISION not in labels
    skipped = read_json(tmp_path / "dirty/.hydro-ci/iris-sklearn/version.json")
    assert "uncommitted changes" in str(skipped)


def test_an_untracked_shipped_file_gets_no_commit_tag_or_revision_and_the_summary_says_why(
        iris_repo: Path, tmp_path: Path) -> None:
    """QA: untracked shipped files still got sha-<commit> and a revision label naming a commit that
    does not hold them."""
    (iris_repo / "NOTES.md").write_text("not shipped: the payload lists src/, requirements.txt, model\n")
    (iris_repo.parent / "scratch.txt").write_text("outside the model folder\n")
    head = git(["rev-parse", "HEAD"], iris_repo)
    tags, labels = _run(iris_repo, tmp_path / "untracked-elsewhere")
    assert f"sha-{head[:7]}" in tags and labels[REVISION] == head  # untracked, but nothing shipped

    (iris_repo / "src/helper.py").write_text("def help() -> None: ...\n")  # shipped (src/), untracked
    tags, labels = _run(iris_repo, tmp_path / "untracked-shipped")
    assert not [t for t in tags if t.startswith("sha-")] and REVISION not in labels
    out = tmp_path / "untracked-shipped/.hydro-ci/iris-sklearn"
    why = "iris-sklearn/src/helper.py is not committed"
    skipped = {t["pattern"]: t["reason"] for t in read_json(out / "version.json")["skipped_tags"]}
    assert why in skipped["sha-{sha}"]
    assert why in (out / "summary.md").read_text()  # the job summary says why

    git(["add", "src/helper.py"], iris_repo)  # staged is not committed either
    tags, labels = _run(iris_repo, tmp_path / "staged")
    assert not [t for t in tags if t.startswith("sha-")] and REVISION not in labels
