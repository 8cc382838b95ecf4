"""The hydro-ci: section of serving.yaml: every problem at once, each where it is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hydro_ci import text
from hydro_ci.cli import main
from hydro_ci.contract.diff import DiffConfig
from hydro_ci.contract.version_policy import VersionPolicy
from hydro_ci.errors import HydroCIError, ProblemsError
from hydro_ci.infer.check import check_model_folder, load_model_folder
from tests.contract.helpers import SERVING, make_folder, position


def located(text: str, tmp_path: Path) -> list[tuple[str, int, int]]:
    return [(p.rule, p.location.line, p.location.column)
            for p in check_model_folder(make_folder(tmp_path, text))]


def test_a_typo_in_a_key_is_reported_with_did_you_mean(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`base_image:` for `base-image:` was silently ignored: the image was built on runtime:."""
    text = SERVING + "hydro-ci:\n  base_image: scratch\n"
    folder = make_folder(tmp_path, text)
    assert main(["contract", "check", str(folder)]) == 1
    line, column = position(text, "base_image")
    assert capsys.readouterr().out == (
        f"{folder}/serving.yaml:{line}:{column}: error: unknown key 'base_image' in the hydro-ci section; "
        "did you mean 'base-image'? [unknown-key]\n")


def test_an_env_value_that_is_not_text_is_reported_at_the_value(tmp_path: Path) -> None:
    """`env: {A: [1,2]}` passed check and failed in render, with no line number."""
    text = SERVING + "hydro-ci:\n  env: {A: [1, 2], OK: 1}\n"
    folder = make_folder(tmp_path, text)
    [problem] = check_model_folder(folder)
    assert (problem.rule, problem.location.line, problem.location.column) == ("bad-setting",
                                                                             *position(text, "[1, 2]"))
    assert problem.message == "hydro-ci.env: A is a list, not text; quote it to pass it as a string"
    with pytest.raises(ProblemsError):  # so render (which loads the folder first) never meets it
        load_model_folder(folder)


def test_every_problem_of_the_section_at_once_each_at_its_own_place(tmp_path: Path) -> None:
    section = (
        "hydro-ci:\n"
        "  image: ghcr.io/acme/demo:1.0\n"
        "  base-image: [scratch]\n"
        "  template: no/such/dir\n"
        "  env:\n"
        "    GOOD: x\n"
        "    1BAD: x\n"
        "    EMPTY:\n"
        "  breaking-change: maybe\n"
        "  version:\n"
        "    initial: banana\n"
        "    tag_format: 'v{version}'\n"
        "    tags: ['{version}', '{nope}', latest]\n"
        "  diff:\n"
        "    ignore: [profile-chnged, input-added, bogus]\n"
        "    renames-by-position: sometimes\n"
        "  colour: blue\n"
    )
    text = SERVING + section
    got = located(text, tmp_path)
    at = {marker: position(text, marker) for marker in (
        "ghcr.io", "[scratch]", "no/such", "1BAD", "EMPTY:", "maybe", "banana", "tag_format", "'{nope}'",
        "profile-chnged", "bogus", "sometimes", "colour")}
    at["EMPTY:"] = (at["EMPTY:"][0], at["EMPTY:"][1] + len("EMPTY:"))  # the (empty) value after the key
    expected = {
        ("bad-setting", *at["ghcr.io"]), ("bad-setting", *at["[scratch]"]), ("bad-setting", *at["no/such"]),
        ("bad-setting", *at["1BAD"]), ("bad-setting", *at["maybe"]), ("bad-setting", *at["banana"]),
        ("unknown-key", *at["tag_format"]), ("bad-setting", *at["'{nope}'"]),
        ("bad-setting", *at["profile-chnged"]), ("bad-setting", *at["bogus"]),
        ("bad-setting", *at["sometimes"]), ("unknown-key", *at["colour"]),
    }
    empty = [g for g in got if g[1] == at["EMPTY:"][0]]
    assert len(empty) == 1 and empty[0][0] == "bad-setting"  # `EMPTY:` has no value, on its own line
    assert set(got) - set(empty) == expected
    assert len(got) == len(expected) + 1


def test_messages_say_what_to_do(tmp_path: Path) -> None:
    text = SERVING + ("hydro-ci:\n  imagee: ghcr.io/acme/demo\n  version: {tag_format: 'v{version}'}\n"
                      "  env: {A: }\n  image: ghcr.io/acme/demo:1\n")
    messages = [p.message for p in check_model_folder(make_folder(tmp_path, text))]
    assert "unknown key 'imagee' in the hydro-ci section; did you mean 'image'?" in messages
    assert "unknown key 'tag_format' in hydro-ci.version; did you mean 'tag-format'?" in messages
    assert 'hydro-ci.env: A has no value; write A: "" for an empty one' in messages
    assert ("hydro-ci.image 'ghcr.io/acme/demo:1' must name a repository, without a tag or digest "
            "(e.g. ghcr.io/acme/demo)") in messages


def test_a_full_valid_section_and_unset_values_pass(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, SERVING + (
        "hydro-ci:\n"
        "  image: ghcr.io/acme/titanic\n"
        "  base-image: registry.example.com/runtimes/python:3.11\n"
        "  template: ci/templates\n"
        "  env: {OMP_NUM_THREADS: \"1\", N: 2, F: 0.5, ON: true, EMPTY: \"\"}\n"
        "  diff: {ignore: [profile-changed], renames-by-position: false}\n"
        "  version:\n"
        "    initial: 0.1.0\n"
        "    major-on-zero: false\n"
        "    release-branches: [main, master, \"release/*\"]\n"
        "    prerelease-token: rc\n"
        "    tag-format: \"{name}-v{version}\"\n"
        "    tags: [\"{version}\", \"{major}.{minor}\", \"{major}\", latest, \"sha-{sha}\"]\n"
        "  breaking-change: intended\n"
    ))
    (folder / "ci" / "templates").mkdir(parents=True)
    assert check_model_folder(folder) == []
    unset = make_folder(tmp_path, SERVING + "hydro-ci:\n  image:\n  base-image:\n  template:\n  env:\n"
                                            "  version:\n  diff:\n  breaking-change:\n", name="unset")
    assert check_model_folder(unset) == []
    assert check_model_folder(make_folder(tmp_path, SERVING + "hydro-ci:\n  base-image: scratch\n",
                                          name="scratch")) == []


def test_a_duplicate_key_is_reported(tmp_path: Path) -> None:
    text = SERVING + "hydro-ci:\n  env: {A: x}\n  env: {B: y}\n"
    assert located(text, tmp_path) == [("duplicate-key", *position(text, "env: {B"))]


@pytest.mark.parametrize(("key", "policy", "value"), [
    ("version", VersionPolicy, None), ("diff", DiffConfig, None)])
def test_the_known_keys_are_the_ones_the_policies_read(key: str, policy: type, value: object) -> None:
    """check derives version:/diff: keys from the dataclass fields: each must be one from_config knows."""
    known = [f.name.replace("_", "-") for f in dataclasses.fields(policy)]
    assert known
    for name in known:
        try:
            policy.from_config({key: {name: value}})  # type: ignore[attr-defined]
        except HydroCIError as exc:
            assert "unknown key" not in str(exc), name
    with pytest.raises(HydroCIError, match="unknown key"):
        policy.from_config({key: {"no-such-key": 1}})  # type: ignore[attr-defined]


def test_env_rules_match_what_render_accepts() -> None:
    from hydro_ci.errors import UnsafeValueError
    from hydro_ci.render.dockerfile import check_env

    for name in ("A", "_x", "A1_B", "1A", "A-B", "A B", "", "Ä", "A=B"):
        try:
            check_env(name, "v")
            render_ok = True
        except UnsafeValueError:
            render_ok = False
        assert bool(text.ENV_NAME.match(name)) == render_ok, name
    for value in ("plain", "a b", "line\nbreak", "tab\there", "\u2028", "é"):
        try:
            check_env("A", value)
            render_ok = True
        except UnsafeValueError:
            render_ok = False
        assert (text.CONTROL_CHARS.search(value) is None) == render_ok, repr(value)
