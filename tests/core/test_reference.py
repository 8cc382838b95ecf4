from __future__ import annotations

import pytest

from hydro_ci.reference import ReferenceError, parse_reference


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), [
    ("busybox", "docker.io", "library/busybox", None, None),
    ("hydrosphere/serving-runtime-python-3.7:3.0.0", "docker.io", "hydrosphere/serving-runtime-python-3.7",
     "3.0.0", None),
    ("localhost/m", "localhost", "m", None, None),
    ("127.0.0.1:5000/team/model:1.2.3", "127.0.0.1:5000", "team/model", "1.2.3", None),
    ("ghcr.io/acme/a__b.c-d:v1@sha256:" + "ab" * 32, "ghcr.io", "acme/a__b.c-d", "v1", "sha256:" + "ab" * 32),
    ("[::1]:5000/x:y", "[::1]:5000", "x", "y", None),
])
def test_parse(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


@pytest.mark.parametrize("text", [
    "", " busybox", "Busybox", "ghcr.io/Acme/x", "x:", "x:-bad", "x@sha256:short", "a//b", "a/b/",
    "x:" + "t" * 129,
])
def test_invalid(text: str) -> None:
    with pytest.raises(ReferenceError) as info:
        parse_reference(text)
    assert "\n" not in str(info.value)


def test_require_tag() -> None:
    with pytest.raises(ReferenceError, match="tag"):
        parse_reference("hydrosphere/runtime", require_tag=True)
    assert parse_reference("r@sha256:" + "0" * 64, require_tag=True).digest


def test_with_tag_and_str() -> None:
    ref = parse_reference("127.0.0.1:5000/m:1").with_tag("2.0.0")
    assert str(ref) == "127.0.0.1:5000/m:2.0.0" and ref.reference == "2.0.0"
