"""Signing images the way sigstore's cosign does, with a key (the ``sign`` extra).

``keys`` reads (and, for tests and key rotation, writes) the keys cosign uses: PEM PKCS#8 ECDSA
P-256, and cosign's encrypted form (scrypt + NaCl secretbox). ``dsse`` wraps a payload in a DSSE
envelope (how in-toto attestations are signed). ``cosign`` makes the simple-signing payload and
the signature manifest cosign stores at ``<repo>:sha256-<hex>.sig``, and verifies them.

Nothing here is imported by ``hydro-ci contract check`` or any verb that does not sign: the
cryptography packages are optional and loaded only when a key is used.
"""
