"""Our templates ship inside the wheel and are found there (not only in an editable checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_templates_are_found_in_an_installed_wheel(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist")], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("hydro_ci-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "site")  # what installing a pure wheel amounts to
    assert (tmp_path / "site/hydro_ci/templates/Dockerfile.j2").is_file()
    probe = "from hydro_ci.render.dockerfile import templates_dir; print(templates_dir())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}).stdout
    assert Path(out.strip()) == tmp_path / "site/hydro_ci/templates"
