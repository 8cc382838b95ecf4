"""The located YAML reader: marks on every node, and limits that defeat hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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


@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
@pytest.mark.parametrize(("text", "where"), [
    ("a: " + "[" * 500_000, (1, 4 + yamlfile.MAX_DEPTH)),
    ("a:\n  - " + "{b: " * 500_000, (2, 5 + 4 * yamlfile.MAX_DEPTH)),
    ("a: |\n  text\nb: &x !!seq " + "[" * 500_000, (3, 13 + yamlfile.MAX_DEPTH)),
])
def test_our_depth_limit_fires_first_with_either_parser(
    text: str, where: tuple[int, int], loader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whichever parser reads the file (libyaml or PyYAML's own, any version), the 65th open
    bracket is named; the parsers' own limits (1 000 levels, or none) never get the chance."""
    if not hasattr(yaml, loader):
        pytest.skip(f"PyYAML built without {loader}")
    monkeypatch.setattr(yamlfile, "_Loader", getattr(yaml, loader))
    rule, line, column, message = problem_of(text)
    assert (rule, (line, column)) == ("yaml-limits", where)
    assert message == f"nested deeper than {yamlfile.MAX_DEPTH} levels"


DEEP_TEXT = "[" * 100
NOT_NESTING = [
    f'a: "{DEEP_TEXT}"\n',
    f"a: '{DEEP_TEXT}'\n",
    f"a: 'it''s {DEEP_TEXT}'\n",
    f'a: "\\"{DEEP_TEXT}"\n',
    f"a: don't {DEEP_TEXT}\n",
    f"a: b{DEEP_TEXT}\n",
    f"a: 1 # {DEEP_TEXT}\n",
    f"# {DEEP_TEXT}\na: 1\n",
    f"a: |\n  {DEEP_TEXT}\n  more\nb: 2\n",
    f"- >-\n    {DEEP_TEXT}\n\n    {DEEP_TEXT}\n- [ok, '{DEEP_TEXT}']\n",
    f"a: x > {DEEP_TEXT}\n",
    "[" * yamlfile.MAX_DEPTH + "]" * yamlfile.MAX_DEPTH + "\n",
]


@pytest.mark.parametrize("text", NOT_NESTING)
def test_brackets_that_open_nothing_are_not_counted(text: str) -> None:
    assert yamlfile.to_python(yamlfile.compose(text, "f.yaml")) == yaml.safe_load(text)


def test_the_parsers_own_depth_limit_reads_as_ours() -> None:
    """Should the parser's limit fire first after all, the line says the same (rule and message)."""
    deep = "[" * 2_000 + "]" * 2_000
    try:
        list(yaml.parse(deep, Loader=yamlfile._Loader))
    except yaml.YAMLError as exc:
        problem = yamlfile._syntax_problem(exc, deep, "f.yaml")
    else:
        pytest.skip(f"PyYAML {yaml.__version__} has no nesting limit of its own")
    limit = f"nested deeper than {yamlfile.MAX_DEPTH} levels"
    assert (problem.rule, problem.message) == ("yaml-limits", limit)


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
