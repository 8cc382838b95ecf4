"""A URL with credentials pasted where an image reference belongs: refused, the secret never echoed."""

from __future__ import annotations

import pytest

from hydro_ci.reference import ReferenceError, parse_reference

from .test_cli_oci import hydro

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize("text", [
    f"https://bob:{SECRET}@127.0.0.1:5001/team/model",
    f"bob:{SECRET}@registry.example.com/team/model:1.0.0",
    f"bob:{SECRET}@host",
    f"{SECRET}@ghcr.io/team/model",
])
def test_userinfo_is_refused_and_redacted(text: str) -> None:
    with pytest.raises(ReferenceError) as err:
        parse_reference(text)
    assert SECRET not in str(err.value) and "***@" in str(err.value)


def test_a_scheme_is_refused_with_its_reason() -> None:
    with pytest.raises(ReferenceError, match="no URL scheme"):
        parse_reference("https://ghcr.io/team/model")


def test_name_at_digest_is_still_a_reference() -> None:
    digest = "sha256:" + "ab" * 32
    assert parse_reference(f"ghcr.io/team/model:1@{digest}").digest == digest


@pytest.mark.parametrize("verb", ["build", "push"])
def test_cli_never_prints_the_password_of_an_image_url(verb: str, tmp_path: object) -> None:
    args = [str(tmp_path)] if verb == "build" else []
    out = hydro(verb, *args, "--image", f"https://bob:{SECRET}@127.0.0.1:5001/team/model",
                "--version", "1.0.0")
    assert out.returncode == 1, out.stderr
    assert SECRET not in out.stdout + out.stderr
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr
