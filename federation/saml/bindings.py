"""HTTP-POST and HTTP-Redirect bindings: encoding only, no HTML (the auto-submit form is the web layer's).

Redirect-binding signatures cover the query string, not the XML, so they are checked here with
`cryptography` directly: RSA-SHA256 (PKCS#1 v1.5) or ECDSA-SHA256 only. ECDSA signature values use the
XML-DSig encoding (r || s, each the curve's byte length), as OpenSAML and Shibboleth do. The signed octets
are the parameters exactly as received (still URL-encoded), as SAML Bindings section 3.4.4.1 requires.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote, unquote_plus

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from federation import xmlsecurity
from federation.credentials import SigningCredential
from federation.saml.constants import SIG_ALG_ECDSA_SHA256, SIG_ALG_RSA_SHA256
from federation.saml.errors import SamlValidationError

MAX_MESSAGE_BYTES = xmlsecurity.MAX_MESSAGE_BYTES
MAX_RELAY_STATE_BYTES = 80  # SAML Bindings 3.4.3 / 3.5.3
ALLOWED_SIG_ALGS = frozenset({SIG_ALG_RSA_SHA256, SIG_ALG_ECDSA_SHA256})
_MESSAGE_PARAMS = ("SAMLRequest", "SAMLResponse")
_KNOWN_PARAMS = frozenset({*_MESSAGE_PARAMS, "RelayState", "SigAlg", "Signature"})
_WHITESPACE = str.maketrans("", "", " \t\r\n")


# --- HTTP-POST ------------------------------------------------------------------------------------------


def encode_post(xml_bytes: bytes) -> str:
    """The value of a SAMLRequest/SAMLResponse form field."""
    return base64.b64encode(xml_bytes).decode("ascii")


def decode_post(value: str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> bytes:
    """Decode a form field strictly: size checked before decoding, any non-base64 byte refused."""
    if len(value) > 2 * max_bytes:  # cheap bound before any work; the exact limit is checked below
        raise SamlValidationError("too-large", f"the message is larger than {max_bytes} bytes")
    compact = value.translate(_WHITESPACE)  # some senders wrap base64 at 76 columns
    try:
        data = base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SamlValidationError("invalid-base64", "the message is not valid base64") from None
    if not data:
        raise SamlValidationError("empty-message", "the message is empty")
    if len(data) > max_bytes:
        raise SamlValidationError("too-large", f"the message is larger than {max_bytes} bytes")
    return data


# --- HTTP-Redirect --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedirectMessage:
    """A decoded Redirect-binding message; verify it with `verify_redirect_signature` before use."""

    param: str  # "SAMLRequest" or "SAMLResponse"
    xml: bytes
    relay_state: str | None
    sig_alg: str | None
    signature: bytes | None
    signed_octets: bytes


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _inflate(data: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error:
        raise SamlValidationError("bad-deflate", "the message is not DEFLATE data") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise SamlValidationError("too-large", f"the inflated message is larger than {max_bytes} bytes")
    if not inflater.eof:
        raise SamlValidationError("bad-deflate", "the DEFLATE data is truncated")
    return out


def _sign_octets(octets: bytes, credential: SigningCredential) -> tuple[str, bytes]:
    key = credential.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        return SIG_ALG_RSA_SHA256, key.sign(octets, padding.PKCS1v15(), hashes.SHA256())
    size = (key.curve.key_size + 7) // 8
    r, s = decode_dss_signature(key.sign(octets, ec.ECDSA(hashes.SHA256())))
    return SIG_ALG_ECDSA_SHA256, r.to_bytes(size, "big") + s.to_bytes(size, "big")


def encode_redirect(
    url: str,
    xml_bytes: bytes,
    *,
    credential: SigningCredential,
    relay_state: str | None = None,
    param: str = "SAMLRequest",
) -> str:
    """The full URL (url + signed query) that carries `xml_bytes`, which must itself be unsigned."""
    if param not in _MESSAGE_PARAMS:
        raise ValueError("param must be SAMLRequest or SAMLResponse")
    parts = [f"{param}={quote(base64.b64encode(_deflate(xml_bytes)).decode('ascii'), safe='')}"]
    if relay_state is not None:
        parts.append(f"RelayState={quote(relay_state, safe='')}")
    sig_alg = SIG_ALG_ECDSA_SHA256 if credential.is_ec else SIG_ALG_RSA_SHA256
    parts.append(f"SigAlg={quote(sig_alg, safe='')}")
    _, signature = _sign_octets("&".join(parts).encode("ascii"), credential)
    parts.append(f"Signature={quote(base64.b64encode(signature).decode('ascii'), safe='')}")
    return url + ("&" if "?" in url else "?") + "&".join(parts)


def _raw_params(query_string: str) -> dict[str, str]:
    raw: dict[str, str] = {}
    for pair in query_string.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = unquote_plus(name)
        if name not in _KNOWN_PARAMS:
            continue
        if name in raw:
            raise SamlValidationError("duplicate-parameter", f"{name} appears more than once")
        raw[name] = value
    return raw


def _b64_param(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(unquote(value).translate(_WHITESPACE).encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SamlValidationError("invalid-base64", f"{name} is not valid base64") from None


def decode_redirect(query_string: str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> RedirectMessage:
    """Split and inflate a Redirect-binding query string (the raw, still-encoded `QUERY_STRING`)."""
    if len(query_string) > max_bytes * 2:
        raise SamlValidationError("too-large", "the query string is too long")
    raw = _raw_params(query_string)
    present = [p for p in _MESSAGE_PARAMS if p in raw]
    if len(present) != 1:
        raise SamlValidationError("missing-message", "exactly one of SAMLRequest or SAMLResponse is required")
    param = present[0]
    xml = _inflate(_b64_param(raw[param], param), max_bytes)
    relay_state = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    if relay_state is not None and len(relay_state.encode("utf-8")) > MAX_RELAY_STATE_BYTES:
        raise SamlValidationError("relay-state-too-long", "RelayState is longer than 80 bytes")
    octets = f"{param}={raw[param]}"
    if "RelayState" in raw:
        octets += f"&RelayState={raw['RelayState']}"
    sig_alg = unquote_plus(raw["SigAlg"]) if "SigAlg" in raw else None
    if "SigAlg" in raw:
        octets += f"&SigAlg={raw['SigAlg']}"
    signature = _b64_param(raw["Signature"], "Signature") if "Signature" in raw else None
    return RedirectMessage(
        param=param,
        xml=xml,
        relay_state=relay_state,
        sig_alg=sig_alg,
        signature=signature,
        signed_octets=octets.encode("utf-8"),
    )


def _verifies(cert: x509.Certificate, sig_alg: str, signature: bytes, octets: bytes) -> bool:
    key = cert.public_key()
    try:
        if sig_alg == SIG_ALG_RSA_SHA256 and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, octets, padding.PKCS1v15(), hashes.SHA256())
            return True
        if sig_alg == SIG_ALG_ECDSA_SHA256 and isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            key.verify(encode_dss_signature(r, s), octets, ec.ECDSA(hashes.SHA256()))
            return True
    except InvalidSignature:
        return False
    return False


def verify_redirect_signature(
    message: RedirectMessage, certificates: Sequence[x509.Certificate], *, now: datetime | None = None
) -> None:
    """Check the query-string signature with the issuer's certificates (never a key from the message).

    With `now`, certificates outside their validity period are skipped, as for metadata keys.
    """
    if message.signature is None or message.sig_alg is None:
        raise SamlValidationError("signature-missing", "the Redirect-binding message is not signed")
    if message.sig_alg not in ALLOWED_SIG_ALGS:
        raise SamlValidationError("signature-algorithm-not-allowed", "SigAlg is not RSA-SHA256 or ECDSA-SHA256")
    for cert in certificates:
        if now is not None and not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            continue
        if _verifies(cert, message.sig_alg, message.signature, message.signed_octets):
            return
    raise SamlValidationError("signature-invalid", "the query-string signature does not verify")
