"""DSSE envelopes (https://github.com/secure-systems-lab/dsse): how in-toto statements are signed.

The signature covers the pre-authentication encoding ``DSSEv1 <len> <type> <len> <body>``, never
the JSON around it, so a reader verifies bytes before parsing anything.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.errors import HydroCIError
from hydro_ci.sign.keys import SigningKey, VerifyingKey

ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_SIGNATURES = 16


class EnvelopeError(HydroCIError):
    """A DSSE envelope is malformed or no signature in it verifies."""


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def sign_envelope(payload: bytes, key: SigningKey, payload_type: str = INTOTO_PAYLOAD_TYPE) -> bytes:
    sig = key.sign(pae(payload_type, payload))
    keyid = VerifyingKey(key.public).key_id()
    doc = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def open_envelope(
    data: bytes, key: VerifyingKey | None, *, payload_type: str = INTOTO_PAYLOAD_TYPE
) -> tuple[bytes, bool]:
    """(payload, verified): ``verified`` is True when a signature in it verifies with ``key``.

    Without a key the payload is returned unverified (the caller says so). A malformed envelope
    or a payload of another type is an ``EnvelopeError``.
    """
    try:
        doc: Any = boundedjson.loads(data)
        kind, body = doc["payloadType"], base64.b64decode(doc["payload"], validate=True)
        sigs = doc.get("signatures") or []
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, binascii.Error):
        raise EnvelopeError("not a DSSE envelope") from None
    if kind != payload_type:
        raise EnvelopeError(f"the envelope holds {kind!r}, not {payload_type!r}")
    if not isinstance(sigs, list) or len(sigs) > MAX_SIGNATURES:
        raise EnvelopeError("the envelope's signatures are malformed")
    if key is None:
        return body, False
    message = pae(kind, body)
    for s in sigs:
        try:
            sig = base64.b64decode(s["sig"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            continue
        if key.verify(message, sig):
            return body, True
    return body, False
