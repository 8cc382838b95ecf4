"""What the docs tell users to pin names a reference that exists: a tag of this repository, else the
commit-SHA placeholder the README explains ("Pinning hydro-ci"); one form everywhere."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
        *sorted((REPO / ".github/workflows").glob("*.yml")), REPO / "action.yml"]
PLACEHOLDER = "<commit sha>"
# uses: hydro-ci/hydro-ci@REF, pre-commit's rev: REF under the hydro-ci repo, pip's hydro-ci @ git+…@REF
PINS = [re.compile(r"hydro-ci/hydro-ci@([^\s`'\"]+(?: sha>)?)"),
        re.compile(r"repo: https://github\.com/hydro-ci/hydro-ci\n\s+rev: ([^\s#]+(?: sha>)?)"),
        re.compile(r"pip install hydro-ci(?!\[|\S)")]


def test_every_pin_in_the_docs_names_a_reference_that_exists() -> None:
    tags = set(subprocess.run(["git", "tag", "-l"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.split())
    found: list[tuple[str, str]] = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for pattern in PINS:
            for m in pattern.finditer(text):
                ref = m.group(1) if m.groups() else m.group(0)
                found.append((path.relative_to(REPO).as_posix(), ref))
    wrong = [(where, ref) for where, ref in found if ref != PLACEHOLDER and ref not in tags]
    assert wrong == []
    # The README says what the placeholder means.
    assert "## Pinning hydro-ci" in (REPO / "README.md").read_text(encoding="utf-8")
    assert {where for where, _ in found} >= {"README.md", "docs/action.md", "docs/pipeline.md",
                                             ".github/workflows/example-models.yml"}
