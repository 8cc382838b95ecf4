"""cosign-format signatures in the real registry, checked by tools that are not ours.

The independent check is skopeo (reads the registry) + openssl (verifies the ECDSA signature) +
the containers-signature rules applied by hand. skopeo's own policy.json ``sigstoreSigned`` check is
run too, but Debian 12's skopeo has sigstore patched out ("Debian-local change: sigstore disabled"):
there it refuses every image, signed or not, so the accept/refuse test skips, saying so.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
from regkit import FAST, make_image, need

from hydro_ci.image.reference import parse_reference
from hydro_ci.image.remote import push_image
from hydro_ci.registry import RegistryClient
from hydro_ci.sign import cosign, keys

pytestmark = pytest.mark.registry


@pytest.fixture
def client(open_registry: Any) -> Any:
    with RegistryClient(open_registry.host, insecure=True, retries=FAST) as c:
        yield c


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[Path, Path]:
    private, public = keys.generate_key_pair(b"pw")
    (tmp_path / "cosign.key").write_bytes(private)
    (tmp_path / "cosign.pub").write_bytes(public)
    return tmp_path / "cosign.key", tmp_path / "cosign.pub"


def _push(client: RegistryClient, repo: str, label: str) -> str:
    return push_image(
        client, parse_reference(f"{client.registry}/{repo}:{label}"), make_image({"l": label})
    ).digest


def _skopeo_raw(ref: str) -> bytes:
    return subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
        check=True,
        capture_output=True,
    ).stdout


def _independently_verified(host: str, repo: str, digest: str, pub: Path, tmp: Path) -> bool:
    """skopeo reads the .sig manifest and blob, openssl checks the signature, the rules are applied here."""
    need("skopeo")
    try:
        manifest = json.loads(_skopeo_raw(f"{host}/{repo}:sha256-{digest[7:]}.sig"))
    except subprocess.CalledProcessError:
        return False  # no signature manifest
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    for layer in manifest["layers"]:
        assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
        url = f"http://{host}/v2/{repo}/blobs/{layer['digest']}"
        with urllib.request.urlopen(url, timeout=10) as r:  # plain urllib, not our registry client
            payload = r.read()
        (tmp / "payload").write_bytes(payload)
        (tmp / "sig").write_bytes(
            base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
        )
        ok = subprocess.run(
            [
                "openssl",
                "dgst",
                "-sha256",
                "-verify",
                str(pub),
                "-signature",
                str(tmp / "sig"),
                str(tmp / "payload"),
            ],
            capture_output=True,
        )
        if ok.returncode != 0:
            continue
        critical = json.loads(payload)["critical"]
        if (
            critical["type"] == "cosign container image signature"
            and critical["image"] == {"docker-manifest-digest": digest}
            and critical["identity"] == {"docker-reference": f"{host}/{repo}"}
        ):
            return True
    return False


def test_signed_image_is_accepted_unsigned_and_tampered_are_refused(
    client: RegistryClient, unique_repo: str, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    private, public = key_files
    signed, unsigned = _push(client, unique_repo, "1.0.0"), _push(client, unique_repo, "2.0.0")
    ref = parse_reference(f"{client.registry}/{unique_repo}")
    key = keys.load_signing_key(private, environ={"COSIGN_PASSWORD": "pw"})
    result = cosign.sign_image(client, ref, signed, key)
    assert result.tag == f"sha256-{signed[7:]}.sig" and result.signatures == 1 and not result.unchanged

    verifier = keys.load_verifying_key(public)
    assert [v.docker_reference for v in cosign.verify_image(client, ref, signed, verifier)] == [ref.name]
    assert _independently_verified(client.registry, unique_repo, signed, public, tmp_path)
    assert cosign.verify_image(client, ref, unsigned, verifier) == []
    assert not _independently_verified(client.registry, unique_repo, unsigned, public, tmp_path)

    # tampered: the signature of one image copied onto another one's .sig tag
    data, media_type, _ = client.get_manifest(unique_repo, result.tag)
    client.put_manifest(unique_repo, f"sha256-{unsigned[7:]}.sig", data, media_type)
    assert cosign.verify_image(client, ref, unsigned, verifier) == []
    assert not _independently_verified(client.registry, unique_repo, unsigned, public, tmp_path)
    # tampered: the payload changed (a signature over other bytes)
    layer = cosign.read_signatures(client, ref, signed)[0]
    forged = cosign.SignatureImage(
        (cosign.SignatureLayer(layer.payload.replace(b"hydro-ci", b"hydro-cj"), layer.signature, {}),)
    )
    push_image(client, ref, forged, moving_tags=[f"sha256-{unsigned[7:]}.sig"])
    assert cosign.verify_image(client, ref, unsigned, verifier) == []
    assert not _independently_verified(client.registry, unique_repo, unsigned, public, tmp_path)
    # another key's signature does not count
    stranger = keys.load_verifying_key(_write(tmp_path / "other.pub", keys.generate_key_pair()[1]))
    assert cosign.verify_image(client, ref, signed, stranger) == []


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_signing_again_changes_nothing_and_a_second_key_adds_its_signature(
    client: RegistryClient, unique_repo: str, tmp_path: Path
) -> None:
    digest = _push(client, unique_repo, "1.0.0")
    ref = parse_reference(f"{client.registry}/{unique_repo}")
    a = keys.load_signing_key(_write(tmp_path / "a.key", keys.generate_key_pair()[0]))
    b = keys.load_signing_key(_write(tmp_path / "b.key", keys.generate_key_pair()[0]))
    first = cosign.sign_image(client, ref, digest, a)
    again = cosign.sign_image(client, ref, digest, a)
    assert again.unchanged and again.digest == first.digest
    both = cosign.sign_image(client, ref, digest, b)
    assert both.signatures == 2
    for k in (a, b):
        assert len(cosign.verify_image(client, ref, digest, keys.VerifyingKey(k.public))) == 1


def _skopeo_policy(tmp_path: Path, public: Path, host: str) -> list[str]:
    policy = {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                host: [
                    {
                        "type": "sigstoreSigned",
                        "keyPath": str(public),
                        "signedIdentity": {"type": "matchRepository"},
                    }
                ]
            }
        },
    }
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    (tmp_path / "registries.d").mkdir(exist_ok=True)
    (tmp_path / "registries.d" / "hydro.yaml").write_text(
        f"docker:\n  {host}:\n    use-sigstore-attachments: true\n"
    )
    return [
        "skopeo",
        "--policy",
        str(tmp_path / "policy.json"),
        "--registries.d",
        str(tmp_path / "registries.d"),
    ]


def test_skopeo_sigstore_signed_policy(
    client: RegistryClient, unique_repo: str, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    need("skopeo")
    private, public = key_files
    signed, _unsigned = _push(client, unique_repo, "1.0.0"), _push(client, unique_repo, "2.0.0")
    ref = parse_reference(f"{client.registry}/{unique_repo}")
    cosign.sign_image(
        client, ref, signed, keys.load_signing_key(private, environ={"COSIGN_PASSWORD": "pw"})
    )
    skopeo = _skopeo_policy(tmp_path, public, client.registry)

    def copy(tag: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *skopeo,
                "copy",
                "--src-tls-verify=false",
                f"docker://{ref.name}:{tag}",
                f"dir:{tmp_path / tag}",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": str(tmp_path)},
        )

    accepted = copy("1.0.0")
    if "sigstore disabled" in accepted.stderr:
        pytest.skip(
            "this skopeo has sigstore patched out (Debian 12: 'Debian-local change: sigstore "
            "disabled'); the skopeo+openssl check above is the independent verification here"
        )
    assert accepted.returncode == 0, accepted.stderr
    refused = copy("2.0.0")
    assert refused.returncode != 0 and "rejected" in refused.stderr
