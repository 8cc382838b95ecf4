"""User templates that cannot render: one located line each, never an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydro_ci.errors import TemplateError
from hydro_ci.render.dockerfile import render_dockerfile

from .test_render_templates import inputs


@pytest.mark.parametrize(("source", "words"), [
    (b'{% extends "Dockerfile.j2" %}', "extends or includes itself"),
    (b'{% extends "hydro-ci/Dockerfile.j2" %}{% block extra %}{% include "Dockerfile.j2" %}{% endblock %}',
     "extends or includes itself"),
    (b'\xff\xfe{% extends "hydro-ci/Dockerfile.j2" %}', "is not UTF-8 text"),
])
def test_broken_user_templates_are_one_line(tmp_path: Path, source: bytes, words: str) -> None:
    (tmp_path / "Dockerfile.j2").write_bytes(source)
    with pytest.raises(TemplateError, match=words) as err:
        render_dockerfile(inputs(), tmp_path)
    assert "\n" not in str(err.value) and err.value.hint


def test_template_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(TemplateError, match="is not a directory"):
        render_dockerfile(inputs(), tmp_path / "file")
