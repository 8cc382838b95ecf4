"""The located YAML reader: marks on every node, and limits that defeat hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydro_ci.contract import yamlfile
from hydro_ci.contract.yamlfile import Mapping, Scalar, Sequence
from hydro_ci.errors import ProblemsError


def problem_of(text: str) -> tuple[str, int, int, str]:
    with pytest.raises(ProblemsError) as exc:
        yamlfile.compose(text, "f.yaml")
    [p] = exc.value.problems
    return p.rule, p.location.line, p.location.column, p.message


def test_every_node_is_located() -> None:
    root = yamlfile.compose("a: 1\nb:\n  - x\n  - {c: [2, 3]}\n", "f.yaml")
    assert isinstance(root, Mapping)
    (ka, va), (_, vb) = root.pairs
    assert (ka.location.line, ka.location.column, va.location.column) == (1, 1, 4)
    assert isinstance(va, Scalar) and va.value == 1 and va.text == "1"
    assert isinstance(vb, Sequence) and (vb.items[1].location.line, vb.items[1].location.column) == (4, 5)
    assert yamlfile.to_python(root) == {"a": 1, "b": ["x", {"c": [2, 3]}]}


def test_aliases_are_shared_and_merges_applied() -> None:
    root = yamlfile.compose("base: &b {type: int8, shape: scalar}\nf:\n  <<: *b\n  type: int16\n", "f.yaml")
    assert yamlfile.to_python(root) == {
        "base": {"type": "int8", "shape": "scalar"},
        "f": {"shape": "scalar", "type": "int16"},
    }


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    rule, line, _, message = problem_of("\n".join(lines) + "\n")
    assert rule == "yaml-limits" and "alias" in message
    # stops as soon as the expansion passes the cap (a5 = 10**6 > 500 000 nodes), not after building it
    assert line == 6


def test_recursive_alias_is_refused() -> None:
    assert problem_of("a: &x [1, *x]\n")[0] == "yaml-limits"


def test_deep_nesting_is_refused_before_the_parser_gets_slow() -> None:
    rule, line, column, _ = problem_of("[" * 500_000)
    assert (rule, line, column) == ("yaml-limits", 1, yamlfile.MAX_DEPTH + 1)


def test_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "serving.yaml"
    path.write_bytes(b"#" * (yamlfile.MAX_BYTES + 10))
    with pytest.raises(ProblemsError) as exc:
        yamlfile.load(path, "serving.yaml")
    assert [p.rule for p in exc.value.problems] == ["too-large"]


def test_non_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "serving.yaml"
    path.write_bytes(b"kind: Model\nname: \xff\xfe\n")
    with pytest.raises(ProblemsError) as exc:
        yamlfile.load(path, "serving.yaml")
    [p] = exc.value.problems
    assert (p.rule, p.location.line, p.location.column) == ("encoding", 2, 7)
    assert "UTF-8" in p.message


def test_a_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "serving.yaml"
    path.write_bytes(b"\xef\xbb\xbfkind: Model\n")
    assert yamlfile.to_python(yamlfile.load(path, "serving.yaml")) == {"kind": "Model"}


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(ProblemsError) as exc:
        yamlfile.load(tmp_path, "dir")
    assert [p.rule for p in exc.value.problems] == ["unreadable"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("a: !!python/object:os.system x\n", "yaml-tag"),
        ("a: !!python/name:os.system\n", "yaml-tag"),
        ("a: !!bool maybe\n", "yaml-tag"),
        ("a: !!timestamp never\n", "yaml-tag"),
        ("a: *nowhere\n", "yaml-syntax"),
        ("a: [1,\n", "yaml-syntax"),
        ("a: \x07\n", "yaml-syntax"),
        ("a: 1\n---\nb: 2\n", "yaml-syntax"),
    ],
)
def test_unsafe_or_broken_yaml(text: str, rule: str) -> None:
    assert problem_of(text)[0] == rule


def test_empty_document_is_none() -> None:
    assert yamlfile.compose("# only a comment\n", "f.yaml") is None


def test_a_tab_in_the_indentation_is_named() -> None:
    with pytest.raises(ProblemsError) as info:
        yamlfile.compose("kind: Model\ncontract:\n\tinputs: {}\n", "serving.yaml")
    [problem] = info.value.problems
    assert (problem.location.line, problem.location.column) == (3, 1)
    assert problem.message.endswith("(a tab: YAML indents with spaces only)")
