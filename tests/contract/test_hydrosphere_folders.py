"""Each point of issue 15 on its own fixture folder (tests/fixtures/hydrosphere/): accepted the way
released Hydrosphere accepted it, with the warnings docs/contract.md lists. What hs 3.0.3 / hs 2.4.0
themselves make of the same folders is compared in tests/oracle/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hydro_ci.contract.model import DType, Profile
from hydro_ci.diagnostics import Problem
from hydro_ci.errors import ProblemsError, UsageError
from hydro_ci.infer.check import check_model_folder, load_model_folder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hydrosphere"


def rules(problems: list[Problem]) -> list[tuple[str, str]]:
    return sorted((p.rule, p.severity.value) for p in problems)


def copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def test_multi_document_builds_the_model_and_notes_the_application() -> None:
    problems = check_model_folder(FIXTURES / "multi_document")
    assert rules(problems) == [("other-kind", "warning")]
    assert "kind: Application" in problems[0].message
    folder = load_model_folder(FIXTURES / "multi_document")
    assert folder.name == "multi_document" and folder.contract is not None


def test_several_model_documents_are_each_checked(tmp_path: Path) -> None:
    folder = copy(tmp_path, "multi_document")
    text = (folder / "serving.yaml").read_text()
    second = text.split("---")[0].replace("name: multi_document", "name: second").replace("int64", "int65")
    (folder / "serving.yaml").write_text(text + "---\n" + second)
    found = rules(check_model_folder(folder))
    assert found == [("other-kind", "warning"), ("unknown-dtype", "error")]  # the second is checked too
    # each Model builds an image of its own: the second's error is not the first's
    assert load_model_folder(folder, model="multi_document").name == "multi_document"
    with pytest.raises(ProblemsError) as caught:
        load_model_folder(folder, model="second")
    assert [p.rule for p in caught.value.problems] == ["unknown-dtype"]


def test_every_model_document_is_a_model_of_its_own() -> None:
    """Two Models and an Application: each Model loads by its name, with its own payload and
    contract (resolved relative to the folder, as hs 2.x did for each document)."""
    folder = FIXTURES / "several_models"
    assert rules(check_model_folder(folder)) == [("other-kind", "warning")]
    scorer = load_model_folder(folder, model="scorer")
    ranker = load_model_folder(folder, model="ranker")
    assert (scorer.name, scorer.payload) == ("scorer", ("scorer/src/", "scorer/weights.txt"))
    assert (ranker.name, ranker.payload) == ("ranker", ("ranker/src/", "labels.txt"))
    assert scorer.contract is not None and scorer.contract.primary.name == "predict"
    assert ranker.contract is not None and ranker.contract.primary.name == "rank"
    assert scorer.contract.name == "scorer" and ranker.contract.name == "ranker"
    assert (scorer.siblings, ranker.siblings) == (("ranker",), ("scorer",))


def test_a_folder_of_several_models_needs_one_named() -> None:
    folder = FIXTURES / "several_models"
    with pytest.raises(UsageError) as ambiguous:
        load_model_folder(folder)
    assert ambiguous.value.exit_code == 2 and ambiguous.value.hint is None  # one line
    assert str(ambiguous.value).endswith("serving.yaml holds 2 Model documents ('scorer', 'ranker'): "
                                         "name one with --model scorer or --model ranker")
    with pytest.raises(UsageError, match=r"--model rnker: .* has no Model named 'rnker' \(it has "
                                         r"'scorer', 'ranker'\); did you mean 'ranker'\?"):
        load_model_folder(folder, model="rnker")
    # a folder of one Model needs no name, and takes its own
    single = FIXTURES / "multi_document"
    assert load_model_folder(single).name == load_model_folder(single, model="multi_document").name
    with pytest.raises(UsageError, match="has no Model named 'other'"):
        load_model_folder(single, model="other")


def test_what_several_models_of_one_folder_must_not_share(tmp_path: Path) -> None:
    folder = copy(tmp_path, "several_models")
    serving = folder / "serving.yaml"
    text = serving.read_text()
    serving.write_text(text.replace("name: ranker", "name: scorer"))
    (problem,) = [p for p in check_model_folder(folder) if p.is_error]
    assert problem.rule == "duplicate-model" and problem.location.line == 15
    assert "Model 'scorer' (document 2) is named like an earlier one (" in problem.message
    # their versions: one repository, or git tags without {name}, would be shared
    serving.write_text(text.replace("runtime:", "hydro-ci: {image: reg.example/acme/m, version: "
                                    "{tag-format: \"v{version}\"}}\nruntime:"))
    found = [(p.rule, p.location.line, p.message) for p in check_model_folder(folder) if p.is_error]
    # the image at the second Model's setting; each tag format at its own
    assert [(rule, line) for rule, line, _ in found] == [("bad-setting", 5), ("bad-setting", 17),
                                                         ("bad-setting", 17)]
    messages = sorted(m.split(";")[0] for *_, m in found)
    assert messages == ["Models 'scorer' and 'ranker' both push to reg.example/acme/m: their versions would "
                        "share its tags"] + 2 * ["tag-format 'v{version}' has no {name}, and this folder "
                                                 "holds 2 Models: their versions would share these git tags"]


def test_serving_yml_is_read_and_two_serving_files_are_an_error(tmp_path: Path) -> None:
    assert check_model_folder(FIXTURES / "serving_yml") == []
    loaded = load_model_folder(FIXTURES / "serving_yml")
    assert loaded.contract is not None and loaded.contract.primary.name == "predict"
    folder = copy(tmp_path, "serving_yml")
    shutil.copy(folder / "serving.yml", folder / "serving.yaml")
    assert ("two-serving-files", "error") in rules(check_model_folder(folder))


def test_nested_payload_entries_are_checked_where_hydrosphere_put_them() -> None:
    # calculator/src/ lands at /model/files/src/: its func_main.py defines the signature
    assert check_model_folder(FIXTURES / "nested_payload") == []


def test_two_entries_with_one_basename_are_an_error_naming_both(tmp_path: Path) -> None:
    folder = copy(tmp_path, "serving_yml")
    (folder / "conf").mkdir()
    (folder / "conf" / "requirements.txt").write_text("scipy\n")
    serving = folder / "serving.yml"
    serving.write_text(serving.read_text().replace('"requirements.txt"]', '"requirements.txt", '
                                                                            '"conf/requirements.txt"]'))
    (problem,) = check_model_folder(folder)
    assert problem.rule == "payload-collision"
    assert "'requirements.txt'" in problem.message and "'conf/requirements.txt'" in problem.message
    assert "/model/files/requirements.txt" in problem.message


def test_a_glob_matching_nothing_is_missing(tmp_path: Path) -> None:
    folder = copy(tmp_path, "serving_yml")
    serving = folder / "serving.yml"
    serving.write_text(serving.read_text().replace('"requirements.txt"]', '"requirements.txt", "*.onnx"]'))
    (problem,) = check_model_folder(folder)
    assert (problem.rule, problem.message) == ("payload-missing", "payload pattern '*.onnx' matches no file")


def test_unknown_profiles_are_none_with_a_warning() -> None:
    problems = check_model_folder(FIXTURES / "unknown_profile")
    assert rules(problems) == [("unknown-profile", "warning")] * 2
    sig = load_model_folder(FIXTURES / "unknown_profile").contract.primary  # type: ignore[union-attr]
    assert [f.profile for f in (*sig.inputs, *sig.outputs)] == [Profile.none, Profile.none]


def test_fields_is_subfields(tmp_path: Path) -> None:
    sig = load_model_folder(FIXTURES / "fields_subfields").contract.primary  # type: ignore[union-attr]
    faces = sig.output("faces")
    assert faces is not None and faces.subfields is not None
    assert [s.name for s in faces.subfields] == ["box", "score"]
    folder = copy(tmp_path, "fields_subfields")
    serving = folder / "serving.yaml"
    serving.write_text(serving.read_text().replace("      fields:", "      subfields: {x: {type: int8}}\n"
                                                   "      fields:"))
    assert ("duplicate-key", "error") in rules(check_model_folder(folder))


def test_v2_and_v1_contract_prototxt_are_read() -> None:
    v2 = load_model_folder(FIXTURES / "prototxt_v2").contract.primary  # type: ignore[union-attr]
    assert v2.name == "infer"
    assert [(f.name, f.dtype, f.shape, f.profile) for f in v2.inputs] == [
        ("age", DType.int64, (-1,), Profile.numerical)]
    v1 = load_model_folder(FIXTURES / "prototxt_v1").contract.primary  # type: ignore[union-attr]
    assert (v1.name, [(f.name, f.dtype, f.shape) for f in v1.outputs]) == (
        "detect", [("scores", DType.float64, (-1,))])
    for name in ("prototxt_v2", "prototxt_v1"):
        assert rules(check_model_folder(FIXTURES / name)) == [("legacy-format", "warning")]


def test_keys_hydrosphere_read_or_ignored_warn_and_typos_stay_errors(tmp_path: Path) -> None:
    problems = check_model_folder(FIXTURES / "hydrosphere_keys")
    assert all(not p.is_error for p in problems)
    assert rules(problems) == sorted([("key-alias", "warning")] * 3 + [("ignored-key", "warning")] * 4)
    loaded = load_model_folder(FIXTURES / "hydrosphere_keys")
    assert loaded.install_command == "pip install -r requirements.txt"  # hs 3's install_command
    assert loaded.extra["training-data"] == "s3://bucket/train.csv"
    folder = copy(tmp_path, "hydrosphere_keys")
    serving = folder / "serving.yaml"
    serving.write_text(serving.read_text().replace("host-selector", "host-selectr"))
    typo = [p for p in check_model_folder(folder) if p.is_error]
    assert [p.rule for p in typo] == ["unknown-key"] and "did you mean 'host-selector'?" in typo[0].message


def test_hydrosdk_dtype_names_are_read_with_its_meaning_and_a_warning() -> None:
    problems = check_model_folder(FIXTURES / "dtype_aliases")
    assert rules(problems) == sorted([("dtype-alias", "warning")] * 6 + [("ambiguous-dtype", "warning")])
    sig = load_model_folder(FIXTURES / "dtype_aliases").contract.primary  # type: ignore[union-attr]
    assert [f.dtype for f in sig.inputs] == [DType.int64, DType.int8, DType.int16, DType.float32,
                                            DType.uint8, DType.uint16, DType.float32]


@pytest.mark.parametrize("name", ["legacy_01x", "legacy_00x"])
def test_older_formats_are_read_with_one_warning_naming_migrate(name: str) -> None:
    problems = [p for p in check_model_folder(FIXTURES / name) if p.rule == "legacy-format"]
    assert len(problems) == 1 and "hydro-ci contract migrate" in problems[0].message
    assert not [p for p in check_model_folder(FIXTURES / name) if p.is_error]
    loaded = load_model_folder(FIXTURES / name)
    sig = loaded.contract.primary  # type: ignore[union-attr]
    assert loaded.name == name and loaded.payload == ("src/", "requirements.txt")
    if name == "legacy_01x":
        assert sig.name == "classify" and [f.name for f in sig.outputs] == ["label", "confidence"]
    else:
        assert sig.name == "predict" and sig.inputs[0].shape == (-1, 4)


def test_signature_name_setting_names_what_the_folder_does_not(tmp_path: Path) -> None:
    from hydro_ci.infer import folder_contract

    models = Path(__file__).resolve().parents[1] / "fixtures" / "models"
    folder = Path(shutil.copytree(models / "onnx_skl_classifier", tmp_path / "clf"))
    serving = folder / "serving.yaml"
    serving.write_text('kind: Model\nname: clf\nruntime: "hydrosphere/serving-runtime-onnx:2.4.0"\n')
    assert folder_contract(load_model_folder(folder)).primary.name == "predict"
    serving.write_text(serving.read_text() + "hydro-ci: {signature-name: Predict}\n")
    assert check_model_folder(folder) == []
    assert folder_contract(load_model_folder(folder)).primary.name == "Predict"  # as the manager named it
    # a declared contract without a name: hs 2.x's `Predict`, kept by the same setting
    serving.write_text(serving.read_text() + "contract:\n  inputs: {x: {type: float32}}\n"
                       "  outputs: {y: {type: int64}}\n")
    (folder / "model.onnx").unlink()
    assert load_model_folder(folder).contract.primary.name == "Predict"  # type: ignore[union-attr]
    serving.write_text(serving.read_text().replace("  inputs:", "  name: infer\n  inputs:"))
    assert load_model_folder(folder).contract.primary.name == "infer"  # type: ignore[union-attr]


def test_migrate_refuses_a_serving_file_it_would_truncate(tmp_path: Path) -> None:
    """migrate rewrites serving.yaml from the one Model it read: other documents would be lost."""
    from hydro_ci.contract.migrate import migrate_folder
    from hydro_ci.errors import HydroCIError
    from hydro_ci.infer.check import folder_rules

    folder = copy(tmp_path, "legacy_01x")
    serving = folder / "serving.yaml"
    serving.write_text(serving.read_text() + "---\nkind: Application\nname: app\n")
    with pytest.raises(HydroCIError, match=r"serving.yaml holds 2 documents; contract migrate rewrites a "
                                           r"serving file of one document"):
        migrate_folder(folder, folder_rules())
    assert migrate_folder(FIXTURES / "several_models", folder_rules()).changes == {}  # today's format
