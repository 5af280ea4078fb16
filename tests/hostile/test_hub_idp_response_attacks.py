"""Hostile IDP Responses at the hub's `/SAML2/SSO/Response/POST` (ARCHITECTURE section 6).

Every attack starts from a valid answer forged with stub-idp-two's real keys to a live hub session that
awaits it (the control test proves that answer is accepted), changes one thing, and checks that the
citizen gets the 400 "problem with your request" page and that hub.log names the specific reason.
Assertion-level attacks re-sign the Response with the IDP's key on purpose: they isolate the assertion
checks (defence in depth against an IDP whose Response signing is bypassed or misused).
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from lxml import etree

from federation import xmlsecurity
from federation.loa import LevelOfAssurance
from federation.saml import Status, encode_post, new_id
from federation.saml import constants as c
from federation.saml.constants import SAML_NS, SAMLP_NS, q
from federation.saml.hashed_pid import hashed_pid
from federation.saml.ids import instant
from tests.e2e.journey import return_to_service
from tests.hostile.conftest import BAD_REQUEST_HEADING
from tests.hostile.forge import (
    AES256_CBC,
    DS,
    HMAC_SHA256,
    RSA_1_5,
    SHA1,
    TRIPLEDES_CBC,
    ForgedResponse,
    attacker_credential,
    await_idp_response,
    encrypt_for,
    first,
    forge_idp_response,
    fresh_pid,
    idp_assertions,
    insert_comment,
    name_id_of,
    post_to_hub_acs,
    resign,
    sha1_signature,
    sign_with,
    signature_of,
    strip_signature,
    xpath_transform,
    xslt_transform,
)

pytestmark = pytest.mark.hostile

NS = {"saml": SAML_NS, "samlp": SAMLP_NS, "ds": DS}


@pytest.fixture
def awaiting(federation):
    """A fresh citizen session at the hub that has sent its AuthnRequest to stub-idp-two."""
    return await_idp_response(federation)


@pytest.fixture
def forged(forge, awaiting) -> ForgedResponse:
    return forge_idp_response(forge, awaiting)


def assert_refused(page, watch, reason: str) -> None:
    assert page.status == 400, (page.status, page.heading)
    assert page.heading == BAD_REQUEST_HEADING, page.heading
    logged = watch.wait_for(f"idp response refused: {reason}")
    found = re.findall(r"idp response refused: (\S+)", logged)
    if reason.endswith(":"):  # a prefix: the rest names the session's state
        assert any(f.startswith(reason) for f in found), f"expected {reason!r}..., hub logged {found!r}"
    else:  # the reason code, then optionally `:<what failed>`
        assert reason in [f.split(":", 1)[0] for f in found], f"expected {reason!r}, hub logged {found!r}"


# --- control ---------------------------------------------------------------------------------------------------


def test_control_valid_response_is_accepted_and_matched(forge, awaiting, forged):
    page = forged.post(awaiting)
    assert page.status == 200, (page.status, page.heading)
    page = return_to_service(awaiting.browser, page)
    assert "signed in" in page.text.lower(), page.heading
    pid = name_id_of(forged.authn).text
    assert hashed_pid(forge.idp_entity_id("stub-idp-two"), forge.ms_entity_id(), pid) in page.text


# --- XML signature wrapping ----------------------------------------------------------------------------------


def _victim_assertions(forged: ForgedResponse) -> list[etree._Element]:
    """Genuinely IDP-signed assertions about someone else: what the wrapped Response would smuggle in."""
    authn, mds = idp_assertions(
        forged.forge, idp_name=forged.idp_name, in_response_to=forged.in_response_to, pid="victim-" + fresh_pid()
    )
    return [encrypt_for(a, forged.forge.hub_encryption_certificate) for a in (authn, mds)]


def _evil_response(forged: ForgedResponse, *, same_id: bool, keep_signature: bool) -> etree._Element:
    """A copy of the signed Response carrying the victim's assertions; optionally with the genuine signature."""
    original = forged.response
    evil = copy.deepcopy(original)
    strip_signature(evil)
    for old in evil.findall(q(SAML_NS, "EncryptedAssertion")):
        evil.remove(old)
    for new in _victim_assertions(forged):
        evil.append(new)
    if not same_id:
        evil.set("ID", new_id())
    if keep_signature:
        evil.insert(1, copy.deepcopy(signature_of(original)))
    return evil


def _moved(original: etree._Element) -> etree._Element:
    """The genuine element after its signature moved to the evil copy: exactly what the digest covers."""
    return strip_signature(copy.deepcopy(original))


def _r_inside_signature(forged):
    evil = _evil_response(forged, same_id=False, keep_signature=True)
    signature_of(evil).append(_moved(forged.response))
    return evil


def _r_before_signature(forged):
    evil = _evil_response(forged, same_id=False, keep_signature=True)
    evil.insert(1, _moved(forged.response))
    return evil


def _r_first_child(forged):
    evil = _evil_response(forged, same_id=True, keep_signature=True)
    evil.insert(0, _moved(forged.response))
    return evil


def _r_wrapping(forged):
    evil = _evil_response(forged, same_id=False, keep_signature=False)
    evil.append(copy.deepcopy(forged.response))
    return evil


def _r_untouched_copy_elsewhere(forged):
    evil = _evil_response(forged, same_id=True, keep_signature=True)
    detail = etree.SubElement(first(evil, "samlp:Status"), q(SAMLP_NS, "StatusDetail"))
    detail.append(copy.deepcopy(forged.response))
    return evil


def _r_in_object(forged):
    evil = _evil_response(forged, same_id=False, keep_signature=True)
    obj = etree.SubElement(signature_of(evil), f"{{{DS}}}Object")
    obj.append(_moved(forged.response))
    return evil


def _r_in_extensions(forged):
    evil = _evil_response(forged, same_id=False, keep_signature=True)
    extensions = etree.Element(q(SAMLP_NS, "Extensions"))
    extensions.append(_moved(forged.response))
    evil.insert(2, extensions)
    return evil


def _r_object_smuggling(forged):
    """No ID games: the genuine signature (still valid) gets a ds:Object carrying the victim's assertion."""
    response = forged.response
    obj = etree.SubElement(signature_of(response), f"{{{DS}}}Object")
    obj.append(_victim_assertions(forged)[0])
    return response


def _r_inside_genuine_signature(forged):
    """The untouched signed Response, with the victim's assertion placed inside its ds:Signature (outside
    SignedInfo, so the signature value still verifies)."""
    response = forged.response
    signature_of(response).append(_victim_assertions(forged)[0])
    return response


def _r_evil_beside(forged):
    """The untouched signed Response with the victim's assertion added beside its own."""
    response = forged.response
    response.append(_victim_assertions(forged)[0])
    return response


RESPONSE_WRAPPING = {
    "inside-signature": (_r_inside_signature, "reference-mismatch"),
    "before-signature": (_r_before_signature, "reference-mismatch"),
    "first-child": (_r_first_child, "duplicate-id"),
    "wrapping-the-signed-element": (_r_wrapping, "signature-missing"),
    "untouched-copy-elsewhere": (_r_untouched_copy_elsewhere, "duplicate-id"),
    "inside-ds-object": (_r_in_object, "reference-mismatch"),
    "inside-extensions": (_r_in_extensions, "reference-mismatch"),
    "ds-object-smuggling": (_r_object_smuggling, "signature-malformed"),
    "evil-inside-genuine-signature": (_r_inside_genuine_signature, "signature-malformed"),
    "evil-assertion-beside": (_r_evil_beside, "signature-invalid"),
}


@pytest.mark.parametrize("placement", RESPONSE_WRAPPING)
def test_signature_wrapping_of_the_response(forge, awaiting, forged, hub_log, placement):
    mutate, reason = RESPONSE_WRAPPING[placement]
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, mutate(forged)), watch, reason)


def _evil_assertion(original: etree._Element, *, same_id: bool, keep_signature: bool) -> etree._Element:
    evil = copy.deepcopy(original)
    strip_signature(evil)
    name_id_of(evil).text = "victim-" + fresh_pid()
    if not same_id:
        evil.set("ID", new_id())
    if keep_signature:
        evil.insert(1, copy.deepcopy(signature_of(original)))
    return evil


def _a_inside_signature(forged):
    evil = _evil_assertion(forged.authn, same_id=False, keep_signature=True)
    signature_of(evil).append(_moved(forged.authn))
    return [evil, forged.mds]


def _a_before_signature(forged):
    evil = _evil_assertion(forged.authn, same_id=False, keep_signature=True)
    evil.insert(1, _moved(forged.authn))
    return [evil, forged.mds]


def _a_first_child(forged):
    evil = _evil_assertion(forged.authn, same_id=True, keep_signature=True)
    evil.insert(0, _moved(forged.authn))
    return [evil, forged.mds]


def _a_wrapping(forged):
    evil = _evil_assertion(forged.authn, same_id=False, keep_signature=False)
    evil.append(copy.deepcopy(forged.authn))
    return [evil, forged.mds]


def _a_untouched_copy_elsewhere(forged):
    evil = _evil_assertion(forged.authn, same_id=True, keep_signature=True)
    advice = etree.Element(q(SAML_NS, "Advice"))
    advice.append(copy.deepcopy(forged.authn))
    first(evil, "saml:Conditions").addnext(advice)
    return [evil, forged.mds]


def _a_in_object(forged):
    evil = _evil_assertion(forged.authn, same_id=False, keep_signature=True)
    etree.SubElement(signature_of(evil), f"{{{DS}}}Object").append(_moved(forged.authn))
    return [evil, forged.mds]


def _a_in_extensions(forged):
    """The evil assertion keeps the genuine signature; the genuine assertion rides in the Response's
    Extensions, so an ID lookup across the whole Response would find it."""
    evil = _evil_assertion(forged.authn, same_id=True, keep_signature=True)
    response = forged.reassemble(assertions=[evil, forged.mds])
    strip_signature(response)
    extensions = etree.Element(q(SAMLP_NS, "Extensions"))
    extensions.append(copy.deepcopy(forged.authn))
    first(response, "saml:Issuer").addnext(extensions)
    return resign(response, forged.response_credential)


def _a_evil_beside(forged):
    evil = _evil_assertion(forged.authn, same_id=False, keep_signature=False)
    return [forged.authn, forged.mds, evil]


ASSERTION_WRAPPING = {
    "inside-signature": (_a_inside_signature, "reference-mismatch"),
    "before-signature": (_a_before_signature, "reference-mismatch"),
    "first-child": (_a_first_child, "duplicate-id"),
    "wrapping-the-signed-element": (_a_wrapping, "signature-missing"),
    "untouched-copy-elsewhere": (_a_untouched_copy_elsewhere, "duplicate-id"),
    "inside-ds-object": (_a_in_object, "reference-mismatch"),
    "inside-extensions": (_a_in_extensions, "signature-invalid"),
    "evil-assertion-beside": (_a_evil_beside, "signature-missing"),
}


@pytest.mark.parametrize("placement", ASSERTION_WRAPPING)
def test_signature_wrapping_of_the_assertion(forge, awaiting, forged, hub_log, placement):
    mutate, reason = ASSERTION_WRAPPING[placement]
    result = mutate(forged)
    response = forged.reassemble(assertions=result) if isinstance(result, list) else result
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, reason)


# --- missing, empty and foreign signatures ----------------------------------------------------------------------


def _response_unsigned(forged):
    return strip_signature(forged.response)


def _response_empty_signature_value(forged):
    first(forged.response, "ds:Signature/ds:SignatureValue").text = ""
    return forged.response


def _assertion_unsigned(forged):
    strip_signature(forged.authn)
    return forged.reassemble()


def _assertion_empty_signature_value(forged):
    first(forged.mds, "ds:Signature/ds:SignatureValue").text = "  "
    return forged.reassemble()


def _extra_unsigned_assertion(forged):
    extra = strip_signature(copy.deepcopy(forged.authn))
    extra.set("ID", new_id())
    forged.extra_assertions.append(extra)
    return forged.reassemble()


def _unencrypted_assertion(forged):
    """The signed assertions, but in the clear: every IDP assertion must be encrypted for the hub."""
    return forged.reassemble(encrypt=False)


MISSING_SIGNATURES = {
    "response-signature-removed": (_response_unsigned, "signature-missing"),
    "response-empty-signature-value": (_response_empty_signature_value, "signature-empty"),
    "response-signed-assertion-unsigned": (_assertion_unsigned, "signature-missing"),
    "assertion-empty-signature-value": (_assertion_empty_signature_value, "signature-empty"),
    "extra-unsigned-assertion": (_extra_unsigned_assertion, "signature-missing"),
    "assertions-not-encrypted": (_unencrypted_assertion, "unencrypted-assertion"),
}


@pytest.mark.parametrize("attack", MISSING_SIGNATURES)
def test_missing_or_empty_signature(forge, awaiting, forged, hub_log, attack):
    mutate, reason = MISSING_SIGNATURES[attack]
    response = mutate(forged)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, reason)


@pytest.mark.parametrize("kind", ["self-signed", "other-ca", "federation-ca"])
def test_response_signed_by_attacker_key_with_certificate_in_keyinfo(forge, keys_dir, awaiting, forged, hub_log, kind):
    """KeyInfo carries the attacker's certificate (even one issued by the federation's own IDP CA): the key
    comes from config/metadata only."""
    attacker = attacker_credential(kind, keys_dir)
    response = sign_with(forged.response, attacker)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "signature-invalid")


def test_assertion_signed_by_attacker_key_inside_idp_signed_response(forge, keys_dir, awaiting, forged, hub_log):
    sign_with(forged.authn, attacker_credential("self-signed"))
    response = forged.reassemble()
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "signature-invalid")


# --- refused algorithms and transforms ------------------------------------------------------------------------


def _hmac(forged):
    """Key confusion: HMAC keyed with the IDP's public certificate, which the attacker knows."""
    return sign_with(forged.response, hmac_key=forged.response_credential.cert_pem, signature_method=HMAC_SHA256)


ALGORITHMS = {
    "xslt-transform": (
        lambda f, cred: sign_with(f.response, cred, transforms=[xmlsecurity.ENVELOPED, xslt_transform()]),
        "transform-not-allowed",
    ),
    "xpath-transform": (
        lambda f, cred: sign_with(f.response, cred, transforms=[xpath_transform(), xmlsecurity.EXC_C14N]),
        "transform-not-allowed",
    ),
    "xpath-transform-on-assertion": (
        lambda f, cred: (sign_with(f.authn, cred, transforms=[xpath_transform()]), f.reassemble())[1],
        "transform-not-allowed",
    ),
    "hmac-signature-method": (lambda f, cred: _hmac(f), "signature-algorithm-not-allowed"),
    "sha1-digest": (lambda f, cred: sign_with(f.response, cred, digest_method=SHA1), "digest-algorithm-not-allowed"),
    "rsa-sha1-signature": (  # ECDSA-SHA1 where the IDP's key is P-256: SHA-1 either way
        lambda f, cred: sign_with(f.response, cred, signature_method=sha1_signature(cred)),
        "signature-algorithm-not-allowed",
    ),
    "rsa-sha1-on-assertion": (
        lambda f, cred: (
            sign_with(f.mds, cred, signature_method=sha1_signature(cred), digest_method=SHA1),
            f.reassemble(),
        )[1],
        "signature-algorithm-not-allowed",
    ),
}


@pytest.mark.parametrize("attack", ALGORITHMS)
def test_refused_signature_algorithm_or_transform(forge, awaiting, forged, hub_log, attack):
    mutate, reason = ALGORITHMS[attack]
    response = mutate(forged, forged.response_credential)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, reason)


ENCRYPTION = {
    "aes256-cbc-content": {"content_algorithm": AES256_CBC},
    "3des-content": {"content_algorithm": TRIPLEDES_CBC},
    "rsa-1_5-key-transport": {"key_transport": RSA_1_5},
}


@pytest.mark.parametrize("attack", ENCRYPTION)
def test_refused_encryption_algorithm(forge, awaiting, forged, hub_log, attack):
    """Refused before any key is unwrapped; the sender only ever learns one generic reason."""
    cert = forge.hub_encryption_certificate
    authn = encrypt_for(forged.authn, cert, **ENCRYPTION[attack])
    response = forged.reassemble(assertions=[authn, forged.mds])
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "decryption-failed")


def test_assertion_encrypted_for_another_key_gives_the_same_generic_reason(forge, keys_dir, awaiting, forged, hub_log):
    other = x509.load_pem_x509_certificate((keys_dir / "test-rp-ms-encryption.crt").read_bytes())
    response = forged.reassemble(assertions=[encrypt_for(forged.authn, other), forged.mds])
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "decryption-failed")


# --- comments inside signed text ------------------------------------------------------------------------------


def test_comment_inside_nameid_after_signing_is_read_as_the_full_pid(forge, awaiting, forged, hub_log):
    """`<NameID>alice<!---->.evil</NameID>`: exclusive c14n drops the comment, so the IDP's signature still
    verifies; the hub must then use the whole text, not the part before the comment."""
    pid = name_id_of(forged.authn).text
    head, tail = pid[:12], pid[12:]
    insert_comment(name_id_of(forged.authn), 12)
    insert_comment(name_id_of(forged.mds), 20)
    response = forged.reassemble()
    assert b"<!---->" in xmlsecurity.to_bytes(forged.authn)
    page = post_to_hub_acs(forge, awaiting, response)
    assert page.status == 200, (page.status, page.heading)
    page = return_to_service(awaiting.browser, page)
    assert "signed in" in page.text.lower(), page.heading
    idp, ms = forge.idp_entity_id("stub-idp-two"), forge.ms_entity_id()
    assert hashed_pid(idp, ms, head + tail) in page.text
    assert hashed_pid(idp, ms, head) not in page.text


def test_comment_inside_an_attribute_value_after_signing_is_read_whole(forge, awaiting, hub_log):
    """Surname `Ev<!---->ans`: read whole it is `Evans` and matches the record; truncated (`Ev`) it would not."""
    forged = forge_idp_response(forge, awaiting)
    surname = forged.mds.xpath(
        "saml:AttributeStatement/saml:Attribute[@Name=$n]/saml:AttributeValue", namespaces=NS, n=c.MDS_SURNAME
    )[0]
    insert_comment(surname, 2)
    response = forged.reassemble()
    page = post_to_hub_acs(forge, awaiting, response)
    assert page.status == 200, (page.status, page.heading)
    assert "/cycle3" not in page.url, "the surname was truncated at the comment: no match at cycle 1"
    page = return_to_service(awaiting.browser, page)
    assert "signed in" in page.text.lower(), page.heading


# --- replay ------------------------------------------------------------------------------------------------------


def test_same_response_posted_twice(forge, awaiting, forged, hub_log):
    """Once an answer has been applied, the hub refuses any other answer to that request by name."""
    first_page = forged.post(awaiting)
    assert first_page.status == 200, first_page.heading
    watch = hub_log()
    assert_refused(forged.post(awaiting), watch, "idp-request-already-answered")


def test_same_cancel_response_posted_twice(forge, awaiting, forged, hub_log):
    """A cancel moves the session back to the company list; the same answer again is refused."""
    cancel = Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, detail=c.STATUS_DETAIL_AUTHN_CANCEL)
    response = forged.reassemble(assertions=[], status=cancel)
    first_page = post_to_hub_acs(forge, awaiting, response)
    assert first_page.status == 200 and "did not finish" in first_page.heading, first_page.heading
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "idp-request-already-answered")


def test_response_refused_after_its_id_was_recorded_is_refused_again(forge, awaiting, forged, hub_log):
    """A Response refused after its ID was recorded (three assertions), posted again while nothing was parked
    for the request, is checked again as a retry, and refused again for what it is."""
    third = idp_assertions(forge, idp_name="stub-idp-two", in_response_to=awaiting.id, pid=fresh_pid())[1]
    forged.extra_assertions.append(third)
    response = forged.reassemble()
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "wrong-assertion-count")
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "wrong-assertion-count")


def test_assertions_replayed_in_a_new_response(forge, awaiting, forged, hub_log):
    third = idp_assertions(forge, idp_name="stub-idp-two", in_response_to=awaiting.id, pid=fresh_pid())[1]
    forged.extra_assertions.append(third)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, forged.reassemble()), watch, "wrong-assertion-count")
    forged.extra_assertions.clear()
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, forged.reassemble()), watch, "assertion-replayed")


# --- InResponseTo -----------------------------------------------------------------------------------------------


def test_no_in_response_to(forge, awaiting, forged, hub_log):
    response = forged.response
    del response.attrib["InResponseTo"]
    watch = hub_log()
    assert_refused(
        post_to_hub_acs(forge, awaiting, resign(response, forged.response_credential)), watch, "no-in-response-to"
    )


def test_in_response_to_a_request_the_hub_never_sent(forge, awaiting, forged, hub_log):
    response = forged.response
    response.set("InResponseTo", new_id())
    watch = hub_log()
    page = post_to_hub_acs(forge, awaiting, resign(response, forged.response_credential))
    assert_refused(page, watch, "unknown-in-response-to")


def test_assertions_of_another_session_in_a_response_for_this_one(forge, federation, awaiting, hub_log):
    """Assertions answering the victim's request, wrapped in a Response for the attacker's own session."""
    victim = await_idp_response(federation)
    victims = forge_idp_response(forge, victim)
    response = forged_for(forge, awaiting, victims.authn, victims.mds)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "wrong-in-response-to")


def forged_for(forge, hub_request, *assertions):
    forged = forge_idp_response(forge, hub_request)
    return forged.reassemble(assertions=list(assertions))


def test_subject_confirmation_in_response_to_differs_from_the_response(forge, federation, awaiting, forged, hub_log):
    other = await_idp_response(federation)
    data = first(forged.authn, "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData")
    data.set("InResponseTo", other.id)
    resign(forged.authn, forged.response_credential)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, forged.reassemble()), watch, "wrong-in-response-to")


# --- addressing and time ------------------------------------------------------------------------------------------


def _set(path: str, attribute: str, value: Callable[[], str], target: str = "authn"):
    def mutate(forged: ForgedResponse):
        element = getattr(forged, target)
        node = element if path == "." else first(element, path)
        node.set(attribute, value())
        resign(element, forged.response_credential)
        return forged.reassemble()

    return mutate


def _audience(value: str):
    def mutate(forged: ForgedResponse):
        first(forged.mds, "saml:Conditions/saml:AudienceRestriction/saml:Audience").text = value
        resign(forged.mds, forged.response_credential)
        return forged.reassemble()

    return mutate


def _response_attr(attribute: str, value: Callable[[], str]):
    def mutate(forged: ForgedResponse):
        forged.response.set(attribute, value())
        return resign(forged.response, forged.response_credential)

    return mutate


def _at(seconds: int) -> Callable[[], str]:
    return lambda: instant(datetime.now(UTC) + timedelta(seconds=seconds))


CONFIRMATION = "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
ADDRESSING_AND_TIME = {
    "wrong-audience": (_audience("https://test-rp.federation.test"), "wrong-audience"),
    "wrong-recipient": (_set(CONFIRMATION, "Recipient", lambda: "https://evil.example/acs"), "wrong-recipient"),
    "wrong-destination": (_response_attr("Destination", lambda: "https://evil.example/acs"), "wrong-destination"),
    "not-before-in-the-future": (_set("saml:Conditions", "NotBefore", _at(120)), "assertion-not-yet-valid"),
    "not-on-or-after-in-the-past": (_set("saml:Conditions", "NotOnOrAfter", _at(-45)), "assertion-expired"),
    "confirmation-expired": (_set(CONFIRMATION, "NotOnOrAfter", _at(-45)), "subject-confirmation-expired"),
    "response-issued-in-the-future": (_response_attr("IssueInstant", _at(120)), "issue-instant-in-future"),
    "response-issued-long-ago": (_response_attr("IssueInstant", _at(-3600)), "issue-instant-stale"),
    "assertion-issued-in-the-future": (_set(".", "IssueInstant", _at(120)), "issue-instant-in-future"),
    "holder-of-key-confirmation": (
        _set("saml:Subject/saml:SubjectConfirmation", "Method", lambda: "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"),
        "not-bearer",
    ),
}


@pytest.mark.parametrize("attack", ADDRESSING_AND_TIME)
def test_wrong_addressing_or_time(forge, awaiting, forged, hub_log, attack):
    mutate, reason = ADDRESSING_AND_TIME[attack]
    response = mutate(forged)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, reason)


def test_not_before_within_the_clock_skew_is_accepted(forge, awaiting, forged):
    """The other side of the 30 s skew: a NotBefore 10 s ahead (an IDP clock slightly fast) is fine."""
    page = post_to_hub_acs(forge, awaiting, _set("saml:Conditions", "NotBefore", _at(10))(forged))
    assert page.status == 200, (page.status, page.heading)


# --- assertion contents ----------------------------------------------------------------------------------------------


def _duplicate_attribute(forged):
    attribute = forged.mds.xpath("saml:AttributeStatement/saml:Attribute[@Name=$n]", namespaces=NS, n=c.MDS_SURNAME)[0]
    twin = copy.deepcopy(attribute)
    twin[0].text = "Mallory"
    attribute.addnext(twin)
    resign(forged.mds, forged.response_credential)
    return forged.reassemble()


def _two_authn_statements(forged):
    statement = first(forged.authn, "saml:AuthnStatement")
    statement.addnext(copy.deepcopy(statement))
    resign(forged.authn, forged.response_credential)
    return forged.reassemble()


def _three_assertions(forged):
    extra = idp_assertions(
        forged.forge, idp_name=forged.idp_name, in_response_to=forged.in_response_to, pid=name_id_of(forged.authn).text
    )[1]
    forged.extra_assertions.append(extra)
    return forged.reassemble()


def _different_name_ids(forged):
    name_id_of(forged.mds).text = "victim-" + fresh_pid()
    resign(forged.mds, forged.response_credential)
    return forged.reassemble()


def _success_without_assertions(forged):
    return forged.reassemble(assertions=[])


CONTENTS = {
    "duplicate-attribute-different-values": (_duplicate_attribute, "duplicate-attribute"),
    "two-authn-statements": (_two_authn_statements, "multiple-authn-statements"),
    "three-assertions": (_three_assertions, "wrong-assertion-count"),
    "assertions-about-different-subjects": (_different_name_ids, "name-id-mismatch"),
    "success-without-assertions": (_success_without_assertions, "success-without-assertions"),
}


@pytest.mark.parametrize("attack", CONTENTS)
def test_wrong_assertion_contents(forge, awaiting, forged, hub_log, attack):
    mutate, reason = CONTENTS[attack]
    response = mutate(forged)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, reason)


# --- the wrong identity provider, level of assurance, fraud ------------------------------------------------------


def test_response_from_an_idp_other_than_the_one_selected(forge, awaiting, hub_log):
    """stub-idp-three's genuine, correctly signed answer to a request the hub sent to stub-idp-two."""
    assert awaiting.idp_name == "stub-idp-two"
    forged = forge_idp_response(forge, awaiting, idp_name="stub-idp-three")
    watch = hub_log()
    assert_refused(forged.post(awaiting), watch, "issuer-not-selected-idp")


def test_assertion_from_another_idp_inside_the_selected_idps_response(forge, awaiting, forged, hub_log):
    """stub-idp-three's genuine authn assertion (same PID, same request), relayed by stub-idp-two."""
    other = idp_assertions(
        forge, idp_name="stub-idp-three", in_response_to=awaiting.id, pid=name_id_of(forged.authn).text
    )[0]
    response = forged.reassemble(assertions=[other, forged.mds])
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "issuer-not-selected-idp")


def test_response_from_an_entity_outside_the_federation(forge, awaiting, forged, hub_log):
    attacker = attacker_credential("self-signed", common_name="evil-idp")
    response = forged.response
    first(response, "saml:Issuer").text = "https://evil-idp.example"
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, resign(response, attacker)), watch, "unknown-issuer")


def test_other_idp_key_claiming_to_be_the_selected_idp(forge, awaiting, forged, hub_log):
    response = resign(forged.response, forge.credential("stub-idp-three"))
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "signature-invalid")


def test_level_1_returned_when_level_2_is_needed(forge, awaiting, hub_log):
    forged = forge_idp_response(forge, awaiting, level=LevelOfAssurance.LEVEL_1)
    watch = hub_log()
    page = forged.post(awaiting)
    assert "higher level" in page.heading, (page.status, page.heading)
    assert "idp response refused: level-of-assurance below-minimum" in watch.wait_for("level-of-assurance")
    page = return_to_service(awaiting.browser, page)
    assert "signed in" not in page.text.lower()
    assert "needs a higher level of identity check" in page.heading, page.heading  # as the hub's page said


def test_level_3_from_an_idp_certified_for_level_2(forge, awaiting, hub_log):
    forged = forge_idp_response(forge, awaiting, level=LevelOfAssurance.LEVEL_3)
    watch = hub_log()
    page = forged.post(awaiting)
    assert "signed in" not in page.text.lower()
    assert "idp response refused: level-of-assurance not-certified" in watch.wait_for("level-of-assurance")


def test_level_x_without_fraud_attributes(forge, awaiting, hub_log):
    forged = forge_idp_response(forge, awaiting, fraud=True)
    watch = hub_log()
    assert_refused(forged.post(awaiting), watch, "fraud-response-without-fraud-attributes")


def test_assertions_in_a_failure_response(forge, awaiting, forged, hub_log):
    response = forged.response
    first(response, "samlp:Status/samlp:StatusCode").set("Value", c.STATUS_RESPONDER)
    resign(response, forged.response_credential)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, response), watch, "unexpected-assertions")


# --- transport -----------------------------------------------------------------------------------------------------


def test_oversized_response(forge, awaiting, forged, hub_log):
    response = forged.response
    extensions = etree.Element(q(SAMLP_NS, "Extensions"))
    etree.SubElement(extensions, "{urn:x-hostile}Padding").text = "A" * (520 * 1024)
    first(response, "saml:Issuer").addnext(extensions)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, resign(response, forged.response_credential)), watch, "too-large")


def test_invalid_base64(forge, awaiting, forged, hub_log):
    value = encode_post(xmlsecurity.to_bytes(forged.response))
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, value[:40] + "*%$" + value[40:]), watch, "invalid-base64")


def test_doctype_in_response(forge, awaiting, forged, hub_log):
    body = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + xmlsecurity.to_bytes(forged.response)
    watch = hub_log()
    assert_refused(post_to_hub_acs(forge, awaiting, base64.b64encode(body).decode()), watch, "doctype")
