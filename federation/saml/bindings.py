"""HTTP-POST and HTTP-Redirect bindings: encoding only, no HTML (the auto-submit form is the web layer's).

Redirect-binding signatures cover the query string, not the XML, so they are checked here with
`cryptography` directly: RSA (PKCS#1 v1.5) or ECDSA with SHA-256, SHA-384 or SHA-512, the same algorithms
the POST binding's XML signatures may use (`xmlsecurity.ALLOWED_SIGNATURE_METHODS`); SHA-1 and anything
else are refused. ECDSA signature values use the XML-DSig encoding (r || s, each the curve's byte length),
as OpenSAML and Shibboleth do. The signed octets are the parameters exactly as received (still
URL-encoded), as SAML Bindings section 3.4.4.1 requires.
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
from federation.saml.errors import SamlValidationError

MAX_MESSAGE_BYTES = xmlsecurity.MAX_MESSAGE_BYTES
MAX_RELAY_STATE_BYTES = 80  # SAML Bindings 3.4.3 / 3.5.3
# SigAlg -> (key type, hash): exactly the XML-signature algorithms the POST binding accepts.
_SIG_ALGS: dict[str, tuple[type, type[hashes.HashAlgorithm]]] = {
    xmlsecurity.RSA_SHA256: (rsa.RSAPublicKey, hashes.SHA256),
    xmlsecurity.RSA_SHA384: (rsa.RSAPublicKey, hashes.SHA384),
    xmlsecurity.RSA_SHA512: (rsa.RSAPublicKey, hashes.SHA512),
    xmlsecurity.ECDSA_SHA256: (ec.EllipticCurvePublicKey, hashes.SHA256),
    xmlsecurity.ECDSA_SHA384: (ec.EllipticCurvePublicKey, hashes.SHA384),
    xmlsecurity.ECDSA_SHA512: (ec.EllipticCurvePublicKey, hashes.SHA512),
}
ALLOWED_SIG_ALGS = frozenset(_SIG_ALGS)
_MESSAGE_PARAMS = ("SAMLRequest", "SAMLResponse")
_KNOWN_PARAMS = frozenset({*_MESSAGE_PARAMS, "RelayState", "SigAlg", "Signature"})
_WHITESPACE = b" \t\r\n"  # deleted from base64 (as ASCII bytes: half the cost of str.translate)


# --- HTTP-POST ------------------------------------------------------------------------------------------


def encode_post(xml_bytes: bytes) -> str:
    """The value of a SAMLRequest/SAMLResponse form field."""
    return base64.b64encode(xml_bytes).decode("ascii")


def decode_post(value: str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> bytes:
    """Decode a form field strictly: size checked before decoding, any non-base64 byte refused."""
    if len(value) > 2 * max_bytes:  # cheap bound before any work; the exact limit is checked below
        raise SamlValidationError(
            "too-large", f"the message is larger than {max_bytes} bytes", detail=f"more than {max_bytes} bytes"
        )
    try:
        # Some senders wrap base64 at 76 columns; a non-ASCII character is refused by encode().
        data = base64.b64decode(value.encode("ascii").translate(None, _WHITESPACE), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SamlValidationError(
            "invalid-base64", "the message is not valid base64", detail="the SAMLRequest/SAMLResponse form field"
        ) from None
    if not data:
        raise SamlValidationError("empty-message", "the message is empty", detail="no SAMLRequest/SAMLResponse")
    if len(data) > max_bytes:
        raise SamlValidationError(
            "too-large", f"the message is larger than {max_bytes} bytes", detail=f"{len(data)} bytes > {max_bytes}"
        )
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
        raise SamlValidationError(
            "bad-deflate", "the message is not DEFLATE data", detail="SAMLRequest/SAMLResponse (raw DEFLATE, RFC 1951)"
        ) from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise SamlValidationError(
            "too-large",
            f"the inflated message is larger than {max_bytes} bytes",
            detail=f"inflated > {max_bytes} bytes",
        )
    if not inflater.eof:
        raise SamlValidationError("bad-deflate", "the DEFLATE data is truncated", detail="truncated DEFLATE data")
    return out


def _sign_octets(octets: bytes, credential: SigningCredential, sig_alg: str) -> bytes:
    key_type, digest = _SIG_ALGS[sig_alg]
    key = credential.private_key
    if not isinstance(key.public_key(), key_type):
        raise ValueError(f"{sig_alg} needs a {key_type.__name__} key")
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(octets, padding.PKCS1v15(), digest())
    size = (key.curve.key_size + 7) // 8
    r, s = decode_dss_signature(key.sign(octets, ec.ECDSA(digest())))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def encode_redirect(
    url: str,
    xml_bytes: bytes,
    *,
    credential: SigningCredential,
    relay_state: str | None = None,
    param: str = "SAMLRequest",
    sig_alg: str | None = None,
) -> str:
    """The full URL (url + signed query) that carries `xml_bytes`, which must itself be unsigned.

    `sig_alg` defaults to RSA-SHA256 or ECDSA-SHA256 by the key; any of `ALLOWED_SIG_ALGS` may be named."""
    if param not in _MESSAGE_PARAMS:
        raise ValueError("param must be SAMLRequest or SAMLResponse")
    if sig_alg is None:
        sig_alg = xmlsecurity.ECDSA_SHA256 if credential.is_ec else xmlsecurity.RSA_SHA256
    if sig_alg not in ALLOWED_SIG_ALGS:
        raise ValueError(f"{sig_alg} is not an allowed SigAlg")
    parts = [f"{param}={quote(base64.b64encode(_deflate(xml_bytes)).decode('ascii'), safe='')}"]
    if relay_state is not None:
        parts.append(f"RelayState={quote(relay_state, safe='')}")
    parts.append(f"SigAlg={quote(sig_alg, safe='')}")
    signature = _sign_octets("&".join(parts).encode("ascii"), credential, sig_alg)
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
            raise SamlValidationError("duplicate-parameter", f"{name} appears more than once", detail=name)
        raw[name] = value
    return raw


def _b64_param(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(unquote(value).encode("ascii").translate(None, _WHITESPACE), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SamlValidationError("invalid-base64", f"{name} is not valid base64", detail=name) from None


def decode_redirect(query_string: str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> RedirectMessage:
    """Split and inflate a Redirect-binding query string (the raw, still-encoded `QUERY_STRING`)."""
    if len(query_string) > max_bytes * 2:
        raise SamlValidationError(
            "too-large", "the query string is too long", detail=f"{len(query_string)} characters of query string"
        )
    raw = _raw_params(query_string)
    present = [p for p in _MESSAGE_PARAMS if p in raw]
    if len(present) != 1:
        raise SamlValidationError(
            "missing-message",
            "exactly one of SAMLRequest or SAMLResponse is required",
            detail=" and ".join(present) or "no SAMLRequest or SAMLResponse parameter",
        )
    param = present[0]
    xml = _inflate(_b64_param(raw[param], param), max_bytes)
    relay_state = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    if relay_state is not None and len(relay_state.encode("utf-8")) > MAX_RELAY_STATE_BYTES:
        raise SamlValidationError(
            "relay-state-too-long",
            "RelayState is longer than 80 bytes",
            detail=f"{len(relay_state.encode('utf-8'))} bytes > {MAX_RELAY_STATE_BYTES}",
        )
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
    key_type, digest = _SIG_ALGS[sig_alg]
    key = cert.public_key()
    if not isinstance(key, key_type):
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, octets, padding.PKCS1v15(), digest())
            return True
        if isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            key.verify(encode_dss_signature(r, s), octets, ec.ECDSA(digest()))
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
        missing = "Signature" if message.sig_alg is not None else "SigAlg"
        raise SamlValidationError(
            "signature-missing", "the Redirect-binding message is not signed", detail=f"no {missing} parameter"
        )
    if message.sig_alg not in ALLOWED_SIG_ALGS:
        raise SamlValidationError(
            "signature-algorithm-not-allowed",
            "SigAlg is not RSA or ECDSA with SHA-256, SHA-384 or SHA-512",
            detail=xmlsecurity.uri_for_log(message.sig_alg),
        )
    for cert in certificates:
        if now is not None and not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            continue
        if _verifies(cert, message.sig_alg, message.signature, message.signed_octets):
            return
    raise SamlValidationError(
        "signature-invalid",
        "the query-string signature does not verify",
        detail=f"{message.sig_alg} over the query string (not signed with a key in the federation config)",
    )
