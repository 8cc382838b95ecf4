"""Signing keys: PKCS#8 PEM from openssl, and cosign's encrypted format (scrypt + NaCl secretbox)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hydro_ci.errors import UsageError
from hydro_ci.sign import keys
from hydro_ci.sign.dsse import open_envelope, sign_envelope


def _openssl_key(tmp_path: Path) -> Path:
    path = tmp_path / "openssl.pem"
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


def test_an_openssl_pkcs8_key_signs_what_openssl_verifies(tmp_path: Path) -> None:
    key = keys.load_signing_key(_openssl_key(tmp_path))
    (tmp_path / "pub.pem").write_bytes(key.public_pem())
    (tmp_path / "data").write_bytes(b"payload")
    (tmp_path / "sig").write_bytes(key.sign(b"payload"))
    ok = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(tmp_path / "pub.pem"),
            "-signature",
            str(tmp_path / "sig"),
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "Verified OK" in ok.stdout
    assert "PRIVATE" not in repr(key) and "private" not in repr(key)


def test_cosign_encrypted_key_round_trip_and_format(tmp_path: Path) -> None:
    private, public = keys.generate_key_pair(b"s3cret")
    text = private.decode()
    assert text.startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    # the PEM body is go-securesystemslib's JSON: opened here with PyNaCl directly, not our reader
    body = json.loads(base64.b64decode("".join(text.splitlines()[1:-1])))
    assert body["kdf"]["name"] == "scrypt" and body["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1}
    assert body["cipher"]["name"] == "nacl/secretbox"
    from nacl.secret import SecretBox

    k = hashlib.scrypt(
        b"s3cret", salt=base64.b64decode(body["kdf"]["salt"]), n=65536, r=8, p=1, maxmem=256 << 20, dklen=32
    )
    der = SecretBox(k).decrypt(
        base64.b64decode(body["ciphertext"]), base64.b64decode(body["cipher"]["nonce"])
    )
    assert der.startswith(b"\x30")  # PKCS#8 DER

    path = tmp_path / "cosign.key"
    path.write_bytes(private)
    key = keys.load_signing_key(path, environ={"COSIGN_PASSWORD": "s3cret"})
    assert key.public_pem() == public
    # the older PEM type cosign wrote reads the same
    path.write_bytes(private.replace(b"SIGSTORE", b"COSIGN"))
    assert keys.load_signing_key(path, environ={"COSIGN_PASSWORD": "s3cret"}).public_pem() == public


def test_wrong_or_missing_password(tmp_path: Path) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(keys.generate_key_pair(b"right")[0])
    with pytest.raises(keys.SigningKeyError, match="wrong password"):
        keys.load_signing_key(path, environ={"COSIGN_PASSWORD": "wrong"})
    with pytest.raises(UsageError, match=r"\$COSIGN_PASSWORD is not set"):
        keys.load_signing_key(path, environ={})
    other = keys.load_signing_key(path, password_env="MY_PW", environ={"MY_PW": "right"})
    assert other.public_pem()


def test_costly_or_unknown_scrypt_parameters_are_refused_before_any_work(tmp_path: Path) -> None:
    doc = {
        "kdf": {"name": "scrypt", "params": {"N": 1 << 24, "r": 8, "p": 1}, "salt": ""},
        "cipher": {"name": "nacl/secretbox", "nonce": ""},
        "ciphertext": "",
    }
    path = tmp_path / "k"
    path.write_bytes(keys.pem("ENCRYPTED SIGSTORE PRIVATE KEY", json.dumps(doc).encode()))
    with pytest.raises(keys.SigningKeyError, match="unsupported scrypt parameters"):
        keys.load_signing_key(path, environ={"COSIGN_PASSWORD": ""})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no PEM block"),
        (b"x" * (keys.MAX_KEY_FILE + 1), "not a key file"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a private key"),
        (b"-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n", "not valid base64"),
    ],
)
def test_things_that_are_not_signing_keys(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "k"
    path.write_bytes(content)
    with pytest.raises(keys.SigningKeyError, match=message):
        keys.load_signing_key(path)


def test_an_rsa_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rsa.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(keys.SigningKeyError, match="not an ECDSA P-256 key"):
        keys.load_signing_key(path)


def test_dsse_envelope_verifies_only_with_its_key_and_bytes(tmp_path: Path) -> None:
    key = keys.load_signing_key(_openssl_key(tmp_path))
    other = keys.VerifyingKey(keys.load_signing_key(_openssl_key(tmp_path / ".." / tmp_path.name)).public)
    env = sign_envelope(b'{"a":1}', key)
    assert open_envelope(env, keys.VerifyingKey(key.public)) == (b'{"a":1}', True)
    assert open_envelope(env, other)[1] is False
    doc = json.loads(env)
    doc["payload"] = base64.b64encode(b'{"a":2}').decode()
    assert open_envelope(json.dumps(doc).encode(), keys.VerifyingKey(key.public))[1] is False


def test_contract_check_start_up_imports_no_signing_or_attestation_code() -> None:
    code = ("import sys, hydro_ci.cli, hydro_ci.cli.contract_check\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('cryptography', 'nacl') or "
            "m.startswith(('hydro_ci.attest', 'hydro_ci.sign'))]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True)
