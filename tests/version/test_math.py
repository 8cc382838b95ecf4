"""Version math: bumps, the 0.x rule, pre-releases, build metadata, tag sets, settings."""

from __future__ import annotations

import pytest
from semver import Version

from hydro_ci.contract.diff import ChangeClass
from hydro_ci.contract.version_policy import VersionConfigError, VersionPolicy
from hydro_ci.version.bump import (
    ZERO_RULE,
    Bump,
    Step,
    bump_text,
    bump_version,
    is_release_branch,
    latest_release,
    parse_version,
    prerelease_of,
    with_build,
)
from hydro_ci.version.tags import TagSet, looks_like_release, tag_set

V = Version.parse
DEFAULT = VersionPolicy()
MAJOR_ON_ZERO = VersionPolicy(major_on_zero=True)


@pytest.mark.parametrize(("previous", "bump", "policy", "wanted"), [
    (None, Bump.major, DEFAULT, "0.1.0"),
    (None, Bump.patch, VersionPolicy(initial=V("1.0.0")), "1.0.0"),
    ("1.2.3", Bump.major, DEFAULT, "2.0.0"),
    ("1.2.3", Bump.minor, DEFAULT, "1.3.0"),
    ("1.2.3", Bump.patch, DEFAULT, "1.2.4"),
    ("0.4.2", Bump.major, DEFAULT, "0.5.0"),        # breaking bumps minor until 1.0
    ("0.4.2", Bump.minor, DEFAULT, "0.5.0"),
    ("0.4.2", Bump.patch, DEFAULT, "0.4.3"),
    ("0.4.2", Bump.major, MAJOR_ON_ZERO, "1.0.0"),  # configurable
    ("1.4.0-rc.2", Bump.minor, DEFAULT, "1.5.0"),   # a pre-release counts as its release
])
def test_bump(previous: str | None, bump: Bump, policy: VersionPolicy, wanted: str) -> None:
    stepped = bump_version(V(previous) if previous else None, bump, policy)
    assert str(stepped.version) == wanted
    assert stepped.why


def test_zero_rule_says_why() -> None:
    assert "0.x" in bump_version(V("0.4.2"), Bump.major, DEFAULT).why


@pytest.mark.parametrize(("previous", "bump", "policy", "text"), [
    (None, Bump.major, DEFAULT, "step=initial"),                  # a first release is initial, always
    (None, Bump.patch, DEFAULT, "step=initial"),
    ("0.4.2", Bump.major, DEFAULT, "step=minor (0.x)"),           # the step taken, and why it differs
    ("0.4.2", Bump.major, MAJOR_ON_ZERO, "step=major"),
    ("1.2.3", Bump.major, DEFAULT, "step=major"),
    ("1.2.3", Bump.minor, DEFAULT, "step=minor"),
])
def test_the_step_taken_is_named_as_taken(previous: str | None, bump: Bump, policy: VersionPolicy,
                                          text: str) -> None:
    stepped = bump_version(V(previous) if previous else None, bump, policy)
    assert bump_text(None, stepped.step, stepped.note) == text


def test_bump_text_names_the_change_and_the_step() -> None:
    assert bump_text("breaking", Step.minor, ZERO_RULE) == "change=breaking, step=minor (0.x)"
    assert bump_text(None, Step.initial) == "step=initial"


@pytest.mark.parametrize(("change", "bump"), [
    (ChangeClass.breaking, Bump.major), (ChangeClass.additive, Bump.minor), (ChangeClass.patch, Bump.patch)])
def test_bump_for_change(change: ChangeClass, bump: Bump) -> None:
    assert Bump.for_change(change) is bump


@pytest.mark.parametrize(("text", "ok"), [
    ("1.2.3", True), ("1.2.3-rc.1", True), ("1.2", False), ("v1.2.3", False), ("latest", False),
    ("01.2.3", False), ("1.2.3.4", False)])
def test_parse_version_is_strict(text: str, ok: bool) -> None:
    assert (parse_version(text) is not None) is ok


@pytest.mark.parametrize(("existing", "wanted"), [
    ([], "1.4.0-rc.1"),
    (["1.4.0-rc.1", "1.4.0-rc.2"], "1.4.0-rc.3"),
    (["1.4.0-rc.9", "1.4.0-rc.10"], "1.4.0-rc.11"),  # numeric, not lexical
    (["1.3.0-rc.5", "1.4.0-beta.7", "1.4.0-rc.x"], "1.4.0-rc.1"),  # other bases/tokens don't count
])
def test_prerelease_numbering(existing: list[str], wanted: str) -> None:
    assert str(prerelease_of(V("1.4.0"), [V(e) for e in existing], "rc")) == wanted


@pytest.mark.parametrize(("branch", "policy", "release"), [
    ("main", DEFAULT, True), ("master", DEFAULT, True), ("feature/x", DEFAULT, False), (None, DEFAULT, False),
    ("release/1.x", VersionPolicy(release_branches=("main", "release/*")), True),
])
def test_release_branch(branch: str | None, policy: VersionPolicy, release: bool) -> None:
    assert is_release_branch(branch, policy) is release


def test_build_metadata() -> None:
    assert with_build(V("1.4.0-rc.3"), "1a2b3c4") == "1.4.0-rc.3+1a2b3c4"
    assert with_build(V("1.4.0"), None) == "1.4.0"


def test_latest_release_ignores_prereleases() -> None:
    assert latest_release([V("1.0.0"), V("2.0.0-rc.1"), V("1.10.0")]) == V("1.10.0")
    assert latest_release([V("1.0.0-rc.1")]) is None


def names(version: str, released: list[str], sha: str | None = "abc1234",
          patterns: tuple[str, ...] = DEFAULT.tags) -> list[str]:
    tags, _ = tag_set(V(version), [V(r) for r in released], sha, patterns)
    return [t.name for t in tags]


@pytest.mark.parametrize(("version", "released", "wanted"), [
    ("1.3.0", ["1.2.0"], ["1.3.0", "1.3", "1", "latest", "sha-abc1234"]),
    ("1.2.5", ["1.2.4", "1.3.0"], ["1.2.5", "1.2", "sha-abc1234"]),         # 1 and latest stay on 1.3.0
    ("1.2.5", ["1.2.4", "1.2.6", "2.0.0"], ["1.2.5", "sha-abc1234"]),
    ("1.9.0", ["2.0.0"], ["1.9.0", "1.9", "1", "sha-abc1234"]),
    ("0.3.0", ["0.2.0"], ["0.3.0", "0.3", "latest", "sha-abc1234"]),         # no "0"
    ("1.4.0-rc.3", ["1.3.0"], ["1.4.0-rc.3", "sha-abc1234"]),               # nothing moves to an rc
    ("1.3.0", ["1.2.0", "2.0.0-rc.1"], ["1.3.0", "1.3", "1", "latest", "sha-abc1234"]),
])
def test_tag_set(version: str, released: list[str], wanted: list[str]) -> None:
    assert names(version, released) == wanted


def test_tag_set_kinds_and_custom_patterns() -> None:
    tags, skipped = tag_set(V("2.1.0"), [V("2.0.0")], None, ("v{version}", "{major}.{minor}.{patch}",
                                                            "stable", "sha-{sha}"))
    assert [(t.name, t.kind) for t in tags] == [("v2.1.0", "immutable"), ("2.1.0", "immutable"),
                                                ("stable", "moving")]
    assert [s.reason for s in skipped] == ["no commit names it (outside git, or uncommitted changes)"]


def test_policy_from_config() -> None:
    policy = VersionPolicy.from_config({"version": {
        "initial": "1.0.0", "major-on-zero": True, "release-branches": ["trunk"],
        "prerelease-token": "beta", "tag-format": "v{version}", "tags": ["{version}", "latest"]}})
    assert policy == VersionPolicy(V("1.0.0"), True, ("trunk",), "beta", "v{version}",
                                   ("{version}", "latest"))
    assert VersionPolicy.from_config({}) == DEFAULT


@pytest.mark.parametrize(("section", "message"), [
    ({"intial": "1.0.0"}, "unknown key 'intial'"),
    ({"initial": "1.0"}, "not a semantic version"),
    ({"initial": "1.0.0-rc.1"}, "must be a release"),
    ({"major-on-zero": "no"}, "true or false"),
    ({"release-branches": "main"}, "list of strings"),
    ({"prerelease-token": "r c"}, "prerelease-token"),
    ({"tag-format": "{name}"}, "exactly once"),
    ({"tag-format": "{name} v{version}"}, "git tag names"),
    ({"tags": ["{hash}"]}, "unknown placeholder"),
    ({"tags": ["-bad"]}, "valid image tag"),
    ({"tags": ["{version"]}, "is not a tag pattern"),  # a lone brace was a ValueError traceback
    ({"tags": ["v}"]}, "is not a tag pattern"),
])
def test_bad_policy(section: dict[str, object], message: str) -> None:
    with pytest.raises(VersionConfigError, match=message):
        VersionPolicy.from_config({"version": section})


@pytest.mark.parametrize(("tag", "immutable"), [
    ("1.2.3", True), ("0.1.0", True), ("1.4.0-rc.3", True), ("1.2.3+abc1234", True),
    ("1.2", False), ("1", False), ("latest", False), ("sha-abc1234", False), ("v1.2.3", False),
    ("1.2.3.4", False),
])
def test_a_tag_given_by_hand_is_immutable_when_spelled_like_a_release(tag: str, immutable: bool) -> None:
    assert looks_like_release(tag) is immutable
    given = TagSet.given("v9", [tag])  # the version tag is immutable whatever its spelling
    assert given.immutable == (("v9", tag) if immutable else ("v9",))
