"""Versions from the real registry (authenticated, paginated), and git + registry together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Signature
from hydro_ci.version.contracts import contract_from_image
from hydro_ci.version.decision import Context, decide
from hydro_ci.version.sources import registry_versions

from .gitrepo import Clone, make_remote
from .images import client, contract_image, push

pytestmark = pytest.mark.registry

CONTRACT = Contract("titanic", (Signature("predict", (Field("x", DType.float32, (-1, 3)),),
                                          (Field("y", DType.float32, (-1,)),)),))
WITH_OUTPUT = Contract("titanic", (Signature("predict", CONTRACT.primary.inputs,
                                             (*CONTRACT.primary.outputs, Field("p", DType.float64, ()))),))


def test_semver_tags_only(registry: Any, unique_repo: str) -> None:
    c = client(registry.host, registry.username, registry.password)
    push(c, unique_repo, contract_image(CONTRACT), ["0.1.0", "0.2.0", "0.2", "latest", "sha-abc1234",
                                                      "0.3.0-rc.1", "v9.9.9"])
    listing = registry_versions(c, unique_repo)
    assert sorted(str(v) for v in listing.versions) == ["0.1.0", "0.2.0", "0.3.0-rc.1"]
    assert listing.ignored == 4
    assert listing.releases[0].ref.startswith(f"{registry.host}/{unique_repo}:")


def test_missing_repository_has_no_versions(registry: Any, unique_repo: str) -> None:
    c = client(registry.host, registry.username, registry.password)
    assert registry_versions(c, unique_repo).releases == []


def test_contract_from_image_label(registry: Any, unique_repo: str) -> None:
    c = client(registry.host, registry.username, registry.password)
    push(c, unique_repo, contract_image(CONTRACT), ["1.0.0"])
    push(c, unique_repo, contract_image(None, other="x"), ["1.0.1"])
    assert contract_from_image(c, unique_repo, "1.0.0") == CONTRACT
    assert contract_from_image(c, unique_repo, "1.0.1") is None  # no label
    assert contract_from_image(c, unique_repo, "7.7.7") is None  # no image


def folder(first: Clone, contract: Contract) -> ModelFolder:
    return ModelFolder(root=first.path / "models/titanic", name="titanic", contract=contract)


def test_registry_source_auto_bump_reads_the_label(registry: Any, unique_repo: str) -> None:
    c = client(registry.host, registry.username, registry.password)
    push(c, unique_repo, contract_image(CONTRACT), ["1.2.0", "1.2", "1", "latest"])
    folder_ = ModelFolder(root=Path("/nonexistent"), name="titanic", contract=WITH_OUTPUT)
    decision = decide(Context(folder=folder_, source="registry", bump="auto", client=c,
                              repository=unique_repo, branch="main", short_commit="abc1234"))
    assert str(decision.version) == "1.3.0"
    assert decision.previous is not None and decision.previous.source == "registry"
    assert decision.diff is not None and [ch.rule for ch in decision.diff.changes] == ["output-added"]
    assert decision.git_tag is None
    assert [t.name for t in decision.tags] == ["1.3.0", "1.3", "1", "latest", "sha-abc1234"]


def test_both_reports_disagreements_and_counts_every_version(registry: Any, unique_repo: str,
                                                             tmp_path: Path) -> None:
    c = client(registry.host, registry.username, registry.password)
    first = make_remote(tmp_path)
    first.tag("titanic-v1.0.0", "titanic-v1.1.0")       # 1.1.0: reserved, never pushed
    push(c, unique_repo, contract_image(CONTRACT), ["1.0.0"])
    push(c, unique_repo, contract_image(WITH_OUTPUT), ["1.2.0"])  # pushed by hand, no git tag
    decision = decide(Context(folder=folder(first, WITH_OUTPUT), source="both", bump="auto",
                              repo=first.path, client=c, repository=unique_repo, branch="main"))
    only = {(str(d.version), d.only_in) for d in decision.disagreements}
    assert only == {("1.1.0", "git"), ("1.2.0", "registry")}
    # previous = the highest anywhere (1.2.0, registry), its contract from the label: no change
    assert decision.previous is not None and str(decision.previous.version) == "1.2.0"
    assert decision.previous.source == "registry"
    assert str(decision.version) == "1.2.1"
    data = decision.to_dict()
    assert set(data["sources"]) == {"git", "registry"} and len(data["disagreements"]) == 2
