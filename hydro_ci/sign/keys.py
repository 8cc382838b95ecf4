"""Signing keys in the formats cosign reads and writes.

- ``-----BEGIN PRIVATE KEY-----``: PKCS#8 DER, an ECDSA P-256 key (``openssl genpkey``);
- ``-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----`` (and the older ``… COSIGN …``): what
  ``cosign generate-key-pair`` writes. The PEM body is JSON (go-securesystemslib's "encrypted"
  format): ``{"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher": {"name":
  "nacl/secretbox", "nonce"}, "ciphertext"}``, byte strings in standard base64. The scrypt key
  (32 bytes) opens the secretbox, which holds the PKCS#8 DER key. Only the three scrypt parameter
  sets cosign's library writes are accepted (as it does itself): a key file is input from
  somewhere, and N decides how much memory we spend.
- public keys: ``-----BEGIN PUBLIC KEY-----`` (PKIX), what ``cosign.pub`` holds.

The password of an encrypted key comes from an environment variable (``COSIGN_PASSWORD`` as in
cosign), never from the command line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydro_ci import boundedjson
from hydro_ci.errors import HydroCIError, MissingExtraError, UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey, EllipticCurvePublicKey

PASSWORD_ENV = "COSIGN_PASSWORD"
ENCRYPTED_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
# (N, r, p) that go-securesystemslib writes: legacy (older cosign), standard (cosign now), OWASP.
SCRYPT_PARAMS = ((32768, 8, 1), (65536, 8, 1), (131072, 8, 1))
WRITE_PARAMS = (65536, 8, 1)
MAX_KEY_FILE = 64 << 10  # a key file is a few hundred bytes; a larger one is not a key


class SigningKeyError(HydroCIError):
    """A signing or verification key cannot be read or used."""


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
    except ModuleNotFoundError:
        raise MissingExtraError("signing and verifying signatures", "sign") from None
    return serialization


@dataclass(frozen=True)
class SigningKey:
    """An ECDSA P-256 private key; repr never shows it."""

    private: EllipticCurvePrivateKey = field(repr=False)
    source: str = ""

    @property
    def public(self) -> EllipticCurvePublicKey:
        return self.private.public_key()

    def sign(self, data: bytes) -> bytes:
        """ASN.1 DER ECDSA signature over SHA-256 of ``data`` (what cosign writes)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        sig: bytes = self.private.sign(data, ec.ECDSA(hashes.SHA256()))
        return sig

    def public_pem(self) -> bytes:
        return public_pem(self.public)


@dataclass(frozen=True)
class VerifyingKey:
    public: EllipticCurvePublicKey
    source: str = ""

    def verify(self, data: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            self.public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    def key_id(self) -> str:
        """sha256 of the DER public key: names the key in a DSSE envelope."""
        serialization = _crypto()
        der = self.public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).hexdigest()


def public_pem(key: EllipticCurvePublicKey) -> bytes:
    serialization = _crypto()
    data: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def _read(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise UsageError(
            f"cannot read {what} {path}: {exc.strerror}", hint=f"pass the path of an existing {what} file"
        ) from None
    if len(data) > MAX_KEY_FILE:
        raise SigningKeyError(f"{path} is larger than {MAX_KEY_FILE} bytes: not a key file")
    return data


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """(type, DER) of each PEM block, tolerant of CRLF and surrounding text."""
    out: list[tuple[str, bytes]] = []
    lines = data.decode("ascii", errors="replace").splitlines()
    kind: str | None = None
    body: list[str] = []
    for line in (x.strip() for x in lines):
        if line.startswith("-----BEGIN ") and line.endswith("-----"):
            kind, body = line[11:-5], []
        elif kind and line == f"-----END {kind}-----":
            try:
                out.append((kind, base64.b64decode("".join(body), validate=True)))
            except binascii.Error:
                raise SigningKeyError(f"the {kind} PEM block is not valid base64") from None
            kind = None
        elif kind:
            body.append(line)
    return out


def load_signing_key(
    path: Path | str, *, password_env: str = PASSWORD_ENV, environ: dict[str, str] | None = None
) -> SigningKey:
    """The key in ``path``: PKCS#8 PEM, or cosign's encrypted PEM opened with ``$password_env``."""
    serialization = _crypto()
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(path)
    env = os.environ if environ is None else environ
    blocks = _pem_blocks(_read(path, "signing key"))
    if not blocks:
        raise SigningKeyError(
            f"{path} holds no PEM block",
            hint="use a PEM PKCS#8 ECDSA P-256 key or a key from cosign generate-key-pair",
        )
    kind, der = blocks[0]
    if kind in ENCRYPTED_TYPES:
        if password_env not in env:
            raise UsageError(
                f"{path} is an encrypted cosign key and ${password_env} is not set",
                hint=f"export {password_env} with the key's password (empty if it has none)",
            )
        der = decrypt_cosign_key(der, env[password_env].encode(), where=str(path))
    elif kind == "ENCRYPTED PRIVATE KEY":
        raise SigningKeyError(
            f"{path} is a PKCS#8 key encrypted by openssl, not by cosign",
            hint="decrypt it (openssl pkcs8 -in KEY -out PLAIN) or use cosign's key format",
        )
    elif kind not in ("PRIVATE KEY", "EC PRIVATE KEY"):
        raise SigningKeyError(
            f"{path} holds a {kind!r} PEM block, not a private key",
            hint="pass the private key (cosign.key), not the public key",
        )
    try:
        key = serialization.load_der_private_key(der, password=None)  # PKCS#8, or SEC1 (EC PRIVATE KEY)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not a readable private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise SigningKeyError(
            f"{path} is not an ECDSA P-256 key",
            hint="make one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256",
        )
    return SigningKey(key, str(path))


def load_verifying_key(path: Path | str) -> VerifyingKey:
    """A PEM public key (``cosign.pub``); a private key file is accepted too (its public half)."""
    serialization = _crypto()
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(path)
    data = _read(path, "public key")
    blocks = _pem_blocks(data)
    if blocks and blocks[0][0] != "PUBLIC KEY":
        return VerifyingKey(load_signing_key(path).public, str(path))
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"{path}: not a PEM public key ({exc})", hint="pass cosign.pub (-----BEGIN PUBLIC KEY-----)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SigningKeyError(f"{path} is not an ECDSA P-256 public key")
    return VerifyingKey(key, str(path))


def _b64(doc: dict[str, Any], *keys: str) -> bytes:
    value: Any = doc
    for k in keys:
        value = value.get(k) if isinstance(value, dict) else None
    if not isinstance(value, str):
        raise SigningKeyError("the encrypted key lacks " + ".".join(keys))
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise SigningKeyError("the encrypted key's " + ".".join(keys) + " is not base64") from None


def decrypt_cosign_key(body: bytes, password: bytes, *, where: str = "the key") -> bytes:
    """The PKCS#8 DER inside cosign's encrypted key body (the JSON the PEM block holds)."""
    try:
        doc = boundedjson.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SigningKeyError(f"{where}: the encrypted key is not cosign's JSON format") from None
    if not isinstance(doc, dict):
        raise SigningKeyError(f"{where}: the encrypted key is not cosign's JSON format")
    kdf, cipher = doc.get("kdf") or {}, doc.get("cipher") or {}
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise SigningKeyError(
            f"{where}: unsupported key derivation {kdf.get('name') if isinstance(kdf, dict) else kdf!r}"
        )
    if not isinstance(cipher, dict) or cipher.get("name") != "nacl/secretbox":
        raise SigningKeyError(
            f"{where}: unsupported cipher {cipher.get('name') if isinstance(cipher, dict) else cipher!r}"
        )
    params = kdf.get("params") or {}
    triple = (params.get("N"), params.get("r"), params.get("p")) if isinstance(params, dict) else None
    if triple not in SCRYPT_PARAMS:
        raise SigningKeyError(
            f"{where}: unsupported scrypt parameters {triple}",
            hint="cosign writes N=32768/65536/131072, r=8, p=1",
        )
    n, r, p = triple
    salt, nonce, ciphertext = (
        _b64(doc, "kdf", "salt"),
        _b64(doc, "cipher", "nonce"),
        _b64(doc, "ciphertext"),
    )
    if len(nonce) != 24:
        raise SigningKeyError(f"{where}: the secretbox nonce is not 24 bytes")
    key = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 << 20, dklen=32)
    box = _secretbox(key)
    from nacl.exceptions import CryptoError

    try:
        plain: bytes = box.decrypt(ciphertext, nonce)
    except CryptoError:
        raise SigningKeyError(
            f"{where}: wrong password (or a damaged key file)",
            hint=f"set {PASSWORD_ENV} to the password the key was made with",
        ) from None
    return plain


def _secretbox(key: bytes) -> Any:
    try:
        from nacl.secret import SecretBox
    except ModuleNotFoundError:
        raise MissingExtraError("cosign's encrypted keys", "sign") from None
    return SecretBox(key)


def encrypt_cosign_key(der: bytes, password: bytes, params: tuple[int, int, int] = WRITE_PARAMS) -> bytes:
    """cosign's encrypted key body for PKCS#8 ``der`` (what ``cosign generate-key-pair`` writes)."""
    n, r, p = params
    salt, nonce = secrets.token_bytes(32), secrets.token_bytes(24)
    key = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 << 20, dklen=32)
    sealed = _secretbox(key).encrypt(der, nonce).ciphertext  # tag + ciphertext, as Go's Seal
    doc = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": n, "r": r, "p": p},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def pem(kind: str, der: bytes) -> bytes:
    text = base64.b64encode(der).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return ("\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"]) + "\n").encode()


def generate_key_pair(password: bytes | None = None) -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a new P-256 key; encrypted the way cosign does when ``password``."""
    serialization = _crypto()
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private = (
        pem(ENCRYPTED_TYPES[0], encrypt_cosign_key(der, password))
        if password is not None
        else pem("PRIVATE KEY", der)
    )
    return private, public_pem(key.public_key())
