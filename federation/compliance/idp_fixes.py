"""What an identity provider changes when the hub refuses its Response for a reason: one line per reason code.

The refusal itself (reason and detail) says what failed; these say what to do. docs/idp-profile.md has
the whole profile.
"""

from __future__ import annotations

from federation.saml import constants as c

_SIGN = "sign the samlp:Response and each saml:Assertion with your signing key (the one the federation config lists)"
_TIME = "keep your clock on UTC by NTP and answer the hub's request within five minutes"
_TWO = (
    "a Success carries two encrypted assertions about the same persistent NameID: one with the AuthnStatement "
    "(and TXN_IPaddress), one with the MDS_* attributes and no AuthnStatement"
)

FIXES: dict[str, str] = {
    "signature-missing": _SIGN + ": an enveloped ds:Signature referencing the element's ID",
    "signature-invalid": _SIGN + ", after the last change to the element; the hub never uses KeyInfo",
    "signature-empty": _SIGN,
    "signature-multiple": "put exactly one ds:Signature in each signed element",
    "signature-malformed": "a ds:Signature holds SignedInfo, SignatureValue and KeyInfo only, with one Reference",
    "signature-algorithm-not-allowed": "sign with RSA-SHA256/384/512 or ECDSA-SHA256/384/512 (never SHA-1)",
    "digest-algorithm-not-allowed": "digest with SHA-256, SHA-384 or SHA-512",
    "transform-not-allowed": "use exactly the enveloped-signature and exclusive c14n transforms",
    "c14n-not-allowed": "canonicalise with exclusive c14n (http://www.w3.org/2001/10/xml-exc-c14n#)",
    "reference-mismatch": "the signature's Reference URI must be '#' + the ID of the element it is in",
    "duplicate-id": "give every element a unique ID",
    "certificate-expired": "your signing certificate in the federation config has expired: register a new one",
    "unknown-issuer": "set saml:Issuer to your entity ID from the federation config",
    "issuer-not-selected-idp": "answer as yourself: Issuer and signing key of the identity provider the hub asked",
    "bad-issuer": "leave out the Issuer's Format, or use ...:nameid-format:entity",
    "wrong-destination": "set the Response's Destination to the hub's response URL from federation metadata",
    "wrong-recipient": "set SubjectConfirmationData Recipient to the hub's response URL from federation metadata",
    "wrong-audience": "set saml:Audience to the hub's entity ID",
    "wrong-in-response-to": (
        "set InResponseTo to the ID of the hub's AuthnRequest, on the Response and on both assertions' "
        "SubjectConfirmationData"
    ),
    "issue-instant-stale": _TIME,
    "issue-instant-in-future": _TIME,
    "assertion-expired": "keep assertions valid for the journey: NotOnOrAfter at least 90 minutes ahead",
    "subject-confirmation-expired": "keep SubjectConfirmationData NotOnOrAfter at least 90 minutes ahead",
    "assertion-not-yet-valid": _TIME,
    "not-bearer": f"confirm the subject with Method {c.SUBJECT_CONFIRMATION_BEARER}",
    "bad-subject-confirmation": "one SubjectConfirmationData: Recipient, InResponseTo, NotOnOrAfter, no NotBefore",
    "bad-nameid-format": f"send the PID as a saml:NameID of Format {c.NAMEID_FORMAT_PERSISTENT}",
    "decryption-failed": (
        "encrypt each assertion for the hub's encryption certificate from federation metadata: AES-128/256-GCM "
        "content, RSA-OAEP key transport"
    ),
    "unencrypted-assertion": "send every assertion as saml:EncryptedAssertion for the hub",
    "unexpected-assertions": "only a Success carries assertions",
    "success-without-assertions": _TWO,
    "wrong-assertion-count": _TWO,
    "wrong-assertions": _TWO,
    "name-id-mismatch": _TWO,
    "issuer-mismatch": "both assertions have your entity ID as their Issuer",
    "missing-matching-dataset": _TWO,
    "multiple-authn-statements": "one AuthnStatement, in the authn assertion only",
    "unknown-loa": "use the federation's AuthnContextClassRef URIs (...:tc:saml:authn-context:levelN)",
    "bad-attribute-type": "declare the profile's xsi:type on every MDS value (docs/idp-profile.md)",
    "bad-attribute-value": "send MDS values as docs/idp-profile.md shows (dates as xs:date, address lines as ida:Line)",
    "multi-valued-attribute": "MDS_gender and MDS_dateofbirth take one value each",
    "duplicate-attribute": "send each attribute once",
    "bad-boolean": "write xs:boolean values as true or false",
    "bad-datetime": "write times as UTC xs:dateTime, e.g. 2024-06-11T09:30:00Z",
    "fraud-response-without-fraud-attributes": (
        f"a fraud answer's levelX assertion carries {c.FECI_IDP_FRAUD_EVENT_ID} and {c.FECI_GPG45_STATUS}"
    ),
    "loa-not-certified": "assert only a level you are certified for (the federation config lists them)",
    "loa-below-minimum": "assert at least the lowest level the hub asked for, or answer AuthnFailed",
    "loa-not-requested": "with Comparison exact, assert one of the levels the hub asked for",
    "bad-status": "use SAML's top-level status codes (Success, Requester, Responder, VersionMismatch)",
    "bad-version": 'send SAML 2.0 messages (Version="2.0")',
    "wrong-message-type": "answer with a samlp:Response",
    "doctype": "send no DOCTYPE",
    "too-large": "keep the Response under 512 KiB",
    "not-well-formed": "send well-formed UTF-8 XML",
    "bad-encoding": "send UTF-8 XML",
    "invalid-base64": "base64-encode the Response in the SAMLResponse form field",
}


def fix_for(reason: str) -> str:
    return FIXES.get(reason, "see docs/idp-profile.md")
