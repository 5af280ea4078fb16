"""Golden check: the lxml message builders write the same XML as the pysaml2 builders they replaced.

The reference builders below are the former code, verbatim in what they produced: pysaml2's message
classes serialised and parsed back, then the profile's lxml additions, then the same signature. With IDs and
times fixed and an RSA key (PKCS#1 v1.5 signatures are deterministic), the two signed documents must be
identical byte for byte: same prefixes, namespace declarations, attribute order, element order, signature
placement and signature value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from lxml import etree
from saml2 import saml, samlp
from saml_support import HUB, HUB_ACS, IDP, IDP_SSO, MS, MS_URL, RP, RP_ACS, Keys

from federation import xmlsecurity
from federation.identity import Address, MatchingDataset, MdsValue
from federation.loa import LevelOfAssurance
from federation.saml import constants as c
from federation.saml.assertion import Attribute, attribute_statement, build_assertion, mds_attributes
from federation.saml.attribute_query import build_attribute_query
from federation.saml.authn_request import build_authn_request
from federation.saml.response import Status, build_response, encrypt_assertion
from federation.saml.standard import standard_attribute_statement

NOW = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
NSPAIR = {"saml": c.SAML_NS, "samlp": c.SAMLP_NS}


def _from_pysaml2(message: object) -> etree._Element:
    return xmlsecurity.parse_xml(message.to_string(nspair=NSPAIR))  # type: ignore[attr-defined]


def _instant(dt: datetime) -> str:
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _bearer_subject(*, name_id, sp_name_qualifier, name_qualifier, recipient, in_response_to, not_on_or_after):
    return saml.Subject(
        name_id=saml.NameID(
            text=name_id,
            format=c.NAMEID_FORMAT_PERSISTENT,
            sp_name_qualifier=sp_name_qualifier,
            name_qualifier=name_qualifier,
        ),
        subject_confirmation=[
            saml.SubjectConfirmation(
                method=c.SUBJECT_CONFIRMATION_BEARER,
                subject_confirmation_data=saml.SubjectConfirmationData(
                    recipient=recipient, in_response_to=in_response_to, not_on_or_after=not_on_or_after
                ),
            )
        ],
    )


# --- the former builders ----------------------------------------------------------------------------------


def old_authn_request(
    *, issuer, destination, credential, now, levels=(), comparison="minimum", force_authn=False,
    acs_index=None, acs_url=None, request_id, sign=True,
):  # fmt: skip
    requested = None
    if levels:
        requested = samlp.RequestedAuthnContext(
            authn_context_class_ref=[saml.AuthnContextClassRef(text=level.uri) for level in levels],
            comparison=comparison,
        )
    message = samlp.AuthnRequest(
        id=request_id,
        version=c.SAML_VERSION,
        issue_instant=_instant(now),
        destination=destination,
        issuer=saml.Issuer(text=issuer),
        name_id_policy=samlp.NameIDPolicy(format=c.NAMEID_FORMAT_PERSISTENT, allow_create="true"),
        requested_authn_context=requested,
        force_authn="true" if force_authn else None,
        assertion_consumer_service_index=str(acs_index) if acs_index is not None else None,
        assertion_consumer_service_url=acs_url,
    )
    element = _from_pysaml2(message)
    return xmlsecurity.sign(element, credential) if sign else element


def old_response(
    *, issuer, in_response_to, status: Status, credential, now, destination=None, assertions=(), response_id
):
    inner = samlp.StatusCode(value=status.sub_code) if status.sub_code else None
    message = samlp.Response(
        id=response_id,
        version=c.SAML_VERSION,
        issue_instant=_instant(now),
        destination=destination,
        in_response_to=in_response_to,
        issuer=saml.Issuer(text=issuer),
        status=samlp.Status(
            status_code=samlp.StatusCode(value=status.code, status_code=inner),
            status_message=samlp.StatusMessage(text=status.message) if status.message else None,
        ),
    )
    element = _from_pysaml2(message)
    if status.detail:
        status_el = element.find(f"{{{c.SAMLP_NS}}}Status")
        detail = etree.SubElement(status_el, f"{{{c.SAMLP_NS}}}StatusDetail")
        etree.SubElement(detail, f"{{{c.IDA_NS}}}StatusValue", nsmap={"ida": c.IDA_NS}).text = status.detail
    for assertion in assertions:
        element.append(assertion)
    return xmlsecurity.sign(element, credential)


def old_assertion(
    *, issuer, name_id, audience, recipient, in_response_to, credential, now, level_of_assurance=None,
    fraud=False, authn_instant=None, attributes=(), sp_name_qualifier=None, name_qualifier=None,
    valid_for=timedelta(minutes=90), assertion_id, attribute_statement_element=None,
):  # fmt: skip
    expires = _instant(now + valid_for)
    authn_statements = []
    if level_of_assurance is not None or fraud:
        uri = c.LOA_LEVEL_X_URI if fraud else level_of_assurance.uri
        authn_statements.append(
            saml.AuthnStatement(
                authn_instant=_instant(authn_instant or now),
                authn_context=saml.AuthnContext(authn_context_class_ref=saml.AuthnContextClassRef(text=uri)),
            )
        )
    message = saml.Assertion(
        id=assertion_id,
        version=c.SAML_VERSION,
        issue_instant=_instant(now),
        issuer=saml.Issuer(text=issuer),
        subject=_bearer_subject(
            name_id=name_id,
            sp_name_qualifier=sp_name_qualifier,
            name_qualifier=name_qualifier,
            recipient=recipient,
            in_response_to=in_response_to,
            not_on_or_after=expires,
        ),
        conditions=saml.Conditions(
            not_before=_instant(now),
            not_on_or_after=expires,
            audience_restriction=[saml.AudienceRestriction(audience=[saml.Audience(text=audience)])],
        ),
        authn_statement=authn_statements,
    )
    element = _from_pysaml2(message)
    if attributes:
        element.append(attribute_statement(attributes))
    if attribute_statement_element is not None:
        element.append(attribute_statement_element)
    return xmlsecurity.sign(element, credential)


def old_attribute_query(
    *, issuer, destination, name_id, sp_name_qualifier, rp_acs_url, rp_request_id, not_on_or_after,
    encrypted_assertions, credential, now, cycle3_assertion=None, requested_attributes=(), name_qualifier=None,
    query_id,
):  # fmt: skip
    carried = [*encrypted_assertions, *([cycle3_assertion] if cycle3_assertion is not None else [])]
    message = samlp.AttributeQuery(
        id=query_id,
        version=c.SAML_VERSION,
        issue_instant=_instant(now),
        destination=destination,
        issuer=saml.Issuer(text=issuer),
        subject=_bearer_subject(
            name_id=name_id,
            sp_name_qualifier=sp_name_qualifier,
            name_qualifier=name_qualifier,
            recipient=rp_acs_url,
            in_response_to=rp_request_id,
            not_on_or_after=_instant(not_on_or_after),
        ),
        attribute=[
            saml.Attribute(name=name, name_format=c.ATTRNAME_FORMAT_UNSPECIFIED) for name in requested_attributes
        ],
    )
    element = _from_pysaml2(message)
    data = element.find(
        f"{{{c.SAML_NS}}}Subject/{{{c.SAML_NS}}}SubjectConfirmation/{{{c.SAML_NS}}}SubjectConfirmationData"
    )
    for assertion in carried:
        data.append(assertion)
    return xmlsecurity.sign(element, credential)


# --- the comparisons --------------------------------------------------------------------------------------


def same(new: etree._Element, old: etree._Element) -> None:
    new_bytes, old_bytes = xmlsecurity.to_bytes(new), xmlsecurity.to_bytes(old)
    assert new_bytes == old_bytes
    # and canonically (what the signature covers), in case serialisation ever differs in form only
    assert etree.tostring(new, method="c14n", exclusive=True) == etree.tostring(old, method="c14n", exclusive=True)


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"levels": (LevelOfAssurance.LEVEL_2,)},
        {"levels": (LevelOfAssurance.LEVEL_1, LevelOfAssurance.LEVEL_2), "comparison": "exact"},
        {"force_authn": True, "acs_index": 3},
        {"acs_url": RP_ACS, "levels": (LevelOfAssurance.LEVEL_2,)},
        {"sign": False},
        {"sign": False, "force_authn": True, "acs_url": RP_ACS},
    ],
)
def test_authn_request_is_as_before(keys: Keys, variant: dict) -> None:
    common = {"issuer": HUB, "destination": IDP_SSO, "credential": keys.hub.signing, "now": NOW, "request_id": "_r1"}
    same(build_authn_request(**common, **variant), old_authn_request(**common, **variant))


def _dataset() -> MatchingDataset:
    return MatchingDataset(
        first_names=(MdsValue("Alice", True),),
        middle_names=(MdsValue("Jane", False),),
        surnames=(MdsValue("Smith", True, NOW.date() - timedelta(days=900)),),
        gender=MdsValue("FEMALE", True),
        date_of_birth=MdsValue(datetime(1985, 3, 14).date(), True),
        current_address=Address(("1 High Street", "Town"), "AB1 2CD", None, "1234", True, None, None),
        previous_addresses=(),
    )


@pytest.mark.parametrize(
    "variant",
    [
        {"level_of_assurance": LevelOfAssurance.LEVEL_2, "attributes": (Attribute(c.TXN_IPADDRESS, ("10.0.0.1",)),)},
        {"fraud": True, "authn_instant": NOW - timedelta(seconds=5)},
        {"attributes": "mds"},
        {"sp_name_qualifier": RP, "name_qualifier": HUB, "level_of_assurance": LevelOfAssurance.LEVEL_1},
        {"in_response_to": None, "valid_for": timedelta(minutes=5)},
        {"statement": True, "sp_name_qualifier": RP, "name_qualifier": HUB},
    ],
)
def test_assertion_is_as_before(keys: Keys, variant: dict) -> None:
    variant = dict(variant)
    if variant.get("attributes") == "mds":
        variant["attributes"] = mds_attributes(_dataset())
    common = {
        "issuer": IDP,
        "name_id": "pid-123",
        "audience": HUB,
        "recipient": HUB_ACS,
        "in_response_to": "_req",
        "credential": keys.idp.signing,
        "now": NOW,
        "assertion_id": "_a1",
    }
    common.update(variant)
    old_kwargs, new_kwargs = dict(common), dict(common)
    if common.pop("statement", None):
        del old_kwargs["statement"], new_kwargs["statement"]
        extra = ((c.MATCHING_OUTCOME, "match"),)
        old_kwargs["attribute_statement_element"] = standard_attribute_statement((), extra)
        new_kwargs["attribute_statement_element"] = standard_attribute_statement((), extra)
    same(build_assertion(**new_kwargs), old_assertion(**old_kwargs))


def _encrypted(keys: Keys, count: int) -> Sequence[bytes]:
    assertion = old_assertion(
        issuer=IDP, name_id="pid", audience=HUB, recipient=HUB_ACS, in_response_to="_r", credential=keys.idp.signing,
        now=NOW, assertion_id="_enc", level_of_assurance=LevelOfAssurance.LEVEL_2,
    )  # fmt: skip
    return [xmlsecurity.to_bytes(encrypt_assertion(assertion, keys.rp.encryption_cert)) for _ in range(count)]


@pytest.mark.parametrize(
    ("status", "destination", "assertions"),
    [
        (Status(c.STATUS_SUCCESS), RP_ACS, 1),
        (Status(c.STATUS_SUCCESS), None, 2),
        (Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH), RP_ACS, 0),
        (Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED, "authn-cancel", "return-code=x offer=y"), RP_ACS, 0),
        (Status(c.STATUS_REQUESTER, message="why"), None, 0),
        (Status(c.STATUS_RESPONDER, detail="loa-pending"), HUB_ACS, 0),
    ],
)
def test_response_is_as_before(keys: Keys, status: Status, destination: str | None, assertions: int) -> None:
    carried = _encrypted(keys, assertions)
    common = {
        "issuer": HUB,
        "in_response_to": "_req",
        "status": status,
        "credential": keys.hub.signing,
        "now": NOW,
        "destination": destination,
        "response_id": "_resp",
    }
    new = build_response(**common, assertions=[xmlsecurity.parse_xml(a) for a in carried])
    same(new, old_response(**common, assertions=[xmlsecurity.parse_xml(a) for a in carried]))


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"requested_attributes": ("firstname", "surname"), "name_qualifier": IDP},
        {"cycle3": True},
    ],
)
def test_attribute_query_is_as_before(keys: Keys, variant: dict) -> None:
    carried = _encrypted(keys, 3 if variant.get("cycle3") else 2)
    common = {
        "issuer": HUB,
        "destination": MS_URL,
        "name_id": "pid-123",
        "sp_name_qualifier": RP,
        "rp_acs_url": RP_ACS,
        "rp_request_id": "_rpreq",
        "not_on_or_after": NOW + timedelta(minutes=5),
        "credential": keys.hub.signing,
        "now": NOW,
        "query_id": "_q1",
        "requested_attributes": variant.get("requested_attributes", ()),
        "name_qualifier": variant.get("name_qualifier"),
    }

    def parts() -> dict:
        elements = [xmlsecurity.parse_xml(a) for a in carried]
        cycle3 = elements.pop() if variant.get("cycle3") else None
        return {"encrypted_assertions": elements, "cycle3_assertion": cycle3}

    same(build_attribute_query(**common, **parts()), old_attribute_query(**common, **parts()))
    assert MS  # the query's audience-to-be, named for the reader


def test_soap_envelope_is_as_before(keys: Keys) -> None:
    """soap.wrap writes the envelope around the message's bytes: the same bytes as the former tree copy."""
    import copy

    from federation.saml import soap

    query = build_attribute_query(
        issuer=HUB, destination=MS_URL, name_id="pid & <co>", sp_name_qualifier=RP, rp_acs_url=RP_ACS,
        rp_request_id="_r", not_on_or_after=NOW + timedelta(minutes=5), credential=keys.hub.signing, now=NOW,
        encrypted_assertions=[xmlsecurity.parse_xml(a) for a in _encrypted(keys, 2)],
    )  # fmt: skip
    envelope = etree.Element(f"{{{c.SOAP11_NS}}}Envelope", nsmap={"soap11": c.SOAP11_NS})
    etree.SubElement(envelope, f"{{{c.SOAP11_NS}}}Body").append(copy.deepcopy(query))
    wrapped = soap.wrap(query)
    assert wrapped == xmlsecurity.to_bytes(envelope)
    exc_c14n = partial(etree.tostring, method="c14n", exclusive=True)
    assert exc_c14n(soap.unwrap(wrapped)) == exc_c14n(query)
    assert query.getparent() is None  # the caller's tree is untouched
