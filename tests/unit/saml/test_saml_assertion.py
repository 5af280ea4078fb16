from __future__ import annotations

from datetime import date, timedelta

import pytest
from lxml import etree
from saml_support import HUB, HUB_ACS, IDP, RP

from federation import xmlsecurity
from federation.loa import LevelOfAssurance
from federation.saml import SamlValidationError
from federation.saml.assertion import (
    Address,
    Attribute,
    MatchingDataset,
    MdsValue,
    attribute_statement,
    build_assertion,
    mds_attributes,
    parse_assertion,
    split_idp_assertions,
)
from federation.saml.constants import (
    FECI_GPG45_STATUS,
    FECI_IDP_FRAUD_EVENT_ID,
    IDA_NS,
    MDS_FIRSTNAME,
    SAML_NS,
    TXN_IPADDRESS,
    XSI_NS,
    q,
)

REQUEST_ID = "_hub-request-1"
DATASET = MatchingDataset(
    first_names=(MdsValue("Test", verified=True, from_date=date(2001, 1, 1)),),
    middle_names=(MdsValue("Middle"),),
    surnames=(
        MdsValue("Current", verified=True, from_date=date(2010, 5, 1)),
        MdsValue("Earlier", verified=True, from_date=date(2001, 1, 1), to_date=date(2010, 4, 30)),
    ),
    gender=MdsValue("Not specified"),
    date_of_birth=MdsValue(date(1970, 1, 2), verified=True),
    current_address=Address(
        lines=("1 Test Street", "Testtown"),
        postcode="TE1 1ST",
        uprn="123456",
        verified=True,
        from_date=date(2010, 5, 1),
    ),
    previous_addresses=(
        Address(
            lines=("2 Old Road",), international_postcode="INT 1", from_date=date(2001, 1, 1), to_date=date(2010, 4, 30)
        ),
    ),
)


def _build(keys, now, **overrides):
    args = dict(
        issuer=IDP,
        name_id="pid-123",
        audience=HUB,
        recipient=HUB_ACS,
        in_response_to=REQUEST_ID,
        credential=keys.idp.signing,
        now=now,
    )
    args.update(overrides)
    return build_assertion(**args)


def _parse(keys, now, element, **overrides):
    args = dict(
        certificates_for_issuer=keys.certificates_for,
        expected_audience=HUB,
        expected_recipient=HUB_ACS,
        expected_in_response_to=REQUEST_ID,
        now=now,
    )
    args.update(overrides)
    return parse_assertion(xmlsecurity.to_bytes(element), **args)


def _reason(call) -> str:
    with pytest.raises(SamlValidationError) as info:
        call()
    return info.value.reason


def _resign(element, keys):
    element.remove(element.find(q(xmlsecurity.DS, "Signature")))
    return xmlsecurity.sign(element, keys.idp.signing)


def test_authn_assertion_round_trip(keys, now):
    element = _build(
        keys,
        now,
        level_of_assurance=LevelOfAssurance.LEVEL_2,
        authn_instant=now - timedelta(seconds=5),
        attributes=(Attribute(TXN_IPADDRESS, ("192.0.2.1",)),),
        sp_name_qualifier=HUB,
    )
    data = _parse(keys, now, element, expect_authn_statement=True)
    assert data.issuer == IDP and data.name_id == "pid-123" and data.sp_name_qualifier == HUB
    assert data.level_of_assurance is LevelOfAssurance.LEVEL_2 and not data.is_fraud
    assert data.authn_instant == now - timedelta(seconds=5)
    assert data.ip_address == "192.0.2.1"
    assert data.in_response_to == REQUEST_ID
    assert data.not_on_or_after > now
    assert data.matching_dataset is None


def test_matching_dataset_round_trip(keys, now):
    element = _build(keys, now, attributes=mds_attributes(DATASET))
    data = _parse(keys, now, element, expect_authn_statement=False)
    assert data.matching_dataset == DATASET
    assert data.level_of_assurance is None and not data.has_authn_statement


def test_attribute_values_use_verify_types(keys, now):
    statement = attribute_statement(mds_attributes(DATASET))
    first = statement.find(f"{q(SAML_NS, 'Attribute')}[@Name='{MDS_FIRSTNAME}']/{q(SAML_NS, 'AttributeValue')}")
    assert first.get(q(XSI_NS, "type")) == "ida:PersonNameType"
    assert first.get(q(IDA_NS, "Verified")) == "true" and first.get(q(IDA_NS, "From")) == "2001-01-01"
    address = statement.find(f"{q(SAML_NS, 'Attribute')}[@Name='MDS_currentaddress']/{q(SAML_NS, 'AttributeValue')}")
    assert address.get(q(XSI_NS, "type")) == "ida:AddressType"
    assert [e.text for e in address.findall(q(IDA_NS, "Line"))] == ["1 Test Street", "Testtown"]


def test_fraud_assertion(keys, now):
    element = _build(
        keys,
        now,
        fraud=True,
        attributes=(Attribute(FECI_IDP_FRAUD_EVENT_ID, ("ev-1",)), Attribute(FECI_GPG45_STATUS, ("IT01",))),
    )
    data = _parse(keys, now, element, expect_authn_statement=True)
    assert data.is_fraud and data.level_of_assurance is None
    assert data.fraud_event_id == "ev-1" and data.gpg45_status == "IT01"


def test_comment_inside_name_id_gives_full_text(keys, now):
    element = _build(keys, now, name_id="ab", level_of_assurance=LevelOfAssurance.LEVEL_1)
    # Re-sign over a NameID that contains a comment: exc-c14n without comments signs "ab".
    name_id = element.find(f"{q(SAML_NS, 'Subject')}/{q(SAML_NS, 'NameID')}")
    name_id.text = "a"
    name_id.append(etree.Comment("x"))
    name_id[-1].tail = "b"
    _resign(element, keys)
    raw = xmlsecurity.to_bytes(element)
    assert b"a<!--x-->b" in raw
    data = parse_assertion(
        raw,
        certificates_for_issuer=keys.certificates_for,
        expected_audience=HUB,
        expected_recipient=HUB_ACS,
        expected_in_response_to=REQUEST_ID,
        now=now,
    )
    assert data.name_id == "ab"


def test_signed_by_another_key_refused(keys, now):
    element = _build(keys, now, credential=keys.other.signing)
    assert _reason(lambda: _parse(keys, now, element)) == "signature-invalid"


def test_unknown_issuer(keys, now):
    element = _build(keys, now, issuer="https://rogue-idp.test")
    assert _reason(lambda: _parse(keys, now, element)) == "unknown-issuer"


def test_tampered_attribute_refused(keys, now):
    element = _build(keys, now, attributes=mds_attributes(DATASET))
    data = xmlsecurity.to_bytes(element).replace(b"Current", b"Changed")
    with pytest.raises(SamlValidationError) as info:
        parse_assertion(
            data,
            certificates_for_issuer=keys.certificates_for,
            expected_audience=HUB,
            expected_recipient=HUB_ACS,
            expected_in_response_to=REQUEST_ID,
            now=now,
        )
    assert info.value.reason == "signature-invalid"


def test_wrong_audience_recipient_in_response_to(keys, now):
    element = _build(keys, now)
    assert _reason(lambda: _parse(keys, now, element, expected_audience=RP)) == "wrong-audience"
    assert _reason(lambda: _parse(keys, now, element, expected_recipient="https://x.test")) == "wrong-recipient"
    assert _reason(lambda: _parse(keys, now, element, expected_in_response_to="_other")) == "wrong-in-response-to"
    # the matching service cannot know the hub's request ID and skips only that comparison
    assert _parse(keys, now, element, expected_in_response_to=None).in_response_to == REQUEST_ID


def test_time_windows(keys, now):
    element = _build(keys, now, valid_for=timedelta(minutes=5))
    assert _parse(keys, now + timedelta(minutes=5, seconds=20), element).issuer == IDP  # within skew
    later = now + timedelta(minutes=6)
    assert _reason(lambda: _parse(keys, later, element)) == "subject-confirmation-expired"
    early = now - timedelta(minutes=2)
    assert _reason(lambda: _parse(keys, early, element)) == "issue-instant-in-future"


def test_conditions_expired_before_confirmation(keys, now):
    element = _build(keys, now, valid_for=timedelta(minutes=5))
    element.find(q(SAML_NS, "Conditions")).set("NotOnOrAfter", "2000-01-01T00:00:00Z")
    _resign(element, keys)
    assert _reason(lambda: _parse(keys, now, element)) == "assertion-expired"


def test_conditions_not_yet_valid(keys, now):
    element = _build(keys, now)
    element.find(q(SAML_NS, "Conditions")).set("NotBefore", "2999-01-01T00:00:00Z")
    _resign(element, keys)
    assert _reason(lambda: _parse(keys, now, element)) == "assertion-not-yet-valid"


def test_not_bearer_refused(keys, now):
    element = _build(keys, now)
    element.find(f"{q(SAML_NS, 'Subject')}/{q(SAML_NS, 'SubjectConfirmation')}").set(
        "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
    )
    _resign(element, keys)
    assert _reason(lambda: _parse(keys, now, element)) == "not-bearer"


def test_authn_statement_expectations(keys, now):
    with_statement = _build(keys, now, level_of_assurance=LevelOfAssurance.LEVEL_2)
    without = _build(keys, now)
    assert _reason(lambda: _parse(keys, now, without, expect_authn_statement=True)) == "missing-authn-statement"
    assert (
        _reason(lambda: _parse(keys, now, with_statement, expect_authn_statement=False)) == "unexpected-authn-statement"
    )
    statement = with_statement.find(q(SAML_NS, "AuthnStatement"))
    with_statement.insert(with_statement.index(statement), etree.fromstring(etree.tostring(statement)))
    _resign(with_statement, keys)
    assert _reason(lambda: _parse(keys, now, with_statement)) == "multiple-authn-statements"


def test_unknown_loa_refused(keys, now):
    element = _build(keys, now, level_of_assurance=LevelOfAssurance.LEVEL_2)
    element.find(f".//{q(SAML_NS, 'AuthnContextClassRef')}").text = "urn:example:level9"
    _resign(element, keys)
    assert _reason(lambda: _parse(keys, now, element)) == "unknown-loa"


def test_duplicate_attribute_with_different_values_refused(keys, now):
    attrs = (Attribute(TXN_IPADDRESS, ("192.0.2.1",)),)
    element = _build(keys, now, attributes=attrs)
    element.append(attribute_statement((Attribute(TXN_IPADDRESS, ("192.0.2.99",)),)))
    _resign(element, keys)
    assert _reason(lambda: _parse(keys, now, element)) == "duplicate-attribute"


def test_duplicate_attribute_with_same_values_accepted(keys, now):
    attrs = (Attribute(TXN_IPADDRESS, ("192.0.2.1",)),)
    element = _build(keys, now, attributes=attrs)
    element.append(attribute_statement(attrs))
    _resign(element, keys)
    assert _parse(keys, now, element).ip_address == "192.0.2.1"


def test_single_valued_mds_attribute_with_two_values_refused(keys, now):
    attrs = (Attribute("MDS_dateofbirth", (MdsValue(date(1970, 1, 2)), MdsValue(date(1971, 1, 2)))),)
    element = _build(keys, now, attributes=attrs)
    assert _reason(lambda: _parse(keys, now, element)) == "multi-valued-attribute"


def test_bad_date_value_refused(keys, now):
    element = _build(keys, now, attributes=(Attribute("MDS_dateofbirth", (MdsValue(date(1970, 1, 2)),)),))
    element.find(f".//{q(SAML_NS, 'AttributeValue')}").text = "not-a-date"
    _resign(element, keys)
    assert _reason(lambda: _parse(keys, now, element)) == "bad-attribute-value"


def test_non_persistent_name_id_refused(keys, now):
    element = _build(keys, now)
    element.find(f"{q(SAML_NS, 'Subject')}/{q(SAML_NS, 'NameID')}").set(
        "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    )
    _resign(element, keys)
    assert _reason(lambda: _parse(keys, now, element)) == "bad-nameid-format"


def test_split_idp_assertions(keys, now):
    authn = _parse(keys, now, _build(keys, now, level_of_assurance=LevelOfAssurance.LEVEL_2))
    mds = _parse(keys, now, _build(keys, now, attributes=mds_attributes(DATASET)))
    pair = split_idp_assertions([mds, authn], response_issuer=IDP)
    assert pair.authn is authn and pair.matching_dataset is mds
    other_subject = _parse(keys, now, _build(keys, now, name_id="pid-999", attributes=mds_attributes(DATASET)))
    assert _reason(lambda: split_idp_assertions([authn, other_subject], response_issuer=IDP)) == "name-id-mismatch"
    assert _reason(lambda: split_idp_assertions([authn, mds], response_issuer=HUB)) == "issuer-mismatch"
    assert _reason(lambda: split_idp_assertions([authn], response_issuer=IDP)) == "wrong-assertion-count"
    assert _reason(lambda: split_idp_assertions([authn, authn], response_issuer=IDP)) == "wrong-assertions"


# --- refusals that name what failed -----------------------------------------------------------------------------


def _refusal(call) -> str:
    with pytest.raises(SamlValidationError) as info:
        call()
    return info.value.refusal


def _value_of(element, name: str):
    return element.xpath(
        "saml:AttributeStatement/saml:Attribute[@Name=$n]/saml:AttributeValue", namespaces={"saml": SAML_NS}, n=name
    )[0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MDS_firstname", "PersonNameType"),
        ("MDS_middlename", "PersonNameType"),
        ("MDS_surname", "PersonNameType"),
        ("MDS_gender", "GenderType"),
        ("MDS_dateofbirth", "DateType"),
        ("MDS_currentaddress", "AddressType"),
        ("MDS_previousaddress", "AddressType"),
    ],
)
def test_every_mds_value_must_declare_its_profile_type(keys, now, name, expected):
    element = _build(keys, now, attributes=mds_attributes(DATASET))
    value = _value_of(element, name)
    assert value.get(q(XSI_NS, "type")) == f"ida:{expected}"  # what our IDPs send
    value.set(q(XSI_NS, "type"), "ida:StringBasedMdsAttributeValue")
    _resign(element, keys)
    assert _refusal(lambda: _parse(keys, now, element)) == (
        f"bad-attribute-type:{name} (expected xsi:type ida:{expected}, got xsi:type 'ida:StringBasedMdsAttributeValue')"
    )
    del value.attrib[q(XSI_NS, "type")]
    _resign(element, keys)
    assert _refusal(lambda: _parse(keys, now, element)) == (
        f"bad-attribute-type:{name} (expected xsi:type ida:{expected}, got no xsi:type)"
    )


def test_an_mds_type_in_another_namespace_is_named(keys, now):
    element = _build(keys, now, attributes=mds_attributes(DATASET))
    value = _value_of(element, "MDS_gender")
    value.set(q(XSI_NS, "type"), "xs:string")
    _resign(element, keys)
    refusal = _refusal(lambda: _parse(keys, now, element))
    assert refusal.startswith(
        "bad-attribute-type:MDS_gender (expected xsi:type ida:GenderType, got xsi:type 'xs:string'"
    )
    assert "prefix is not bound to http://www.cabinetoffice.gov.uk/resource-library/ida/attributes" in refusal


def test_a_bad_date_names_the_attribute(keys, now):
    element = _build(keys, now, attributes=(Attribute("MDS_dateofbirth", (MdsValue(date(1970, 1, 2)),)),))
    element.find(f".//{q(SAML_NS, 'AttributeValue')}").text = "14/03/1985"
    _resign(element, keys)
    assert (
        _refusal(lambda: _parse(keys, now, element))
        == "bad-attribute-value:MDS_dateofbirth (not an xs:date, e.g. 1985-03-14)"
    )


def test_a_bad_from_date_names_the_attribute_and_the_field(keys, now):
    element = _build(keys, now, attributes=mds_attributes(DATASET))
    _value_of(element, "MDS_surname").set(q(IDA_NS, "From"), "yesterday")
    _resign(element, keys)
    assert _refusal(lambda: _parse(keys, now, element)).startswith(
        "bad-attribute-value:MDS_surname ida:From (not an xs:date"
    )


def test_a_bad_verified_flag_is_escaped(keys, now):
    element = _build(keys, now, attributes=mds_attributes(DATASET))
    _value_of(element, "MDS_firstname").set(q(IDA_NS, "Verified"), "yes\nFORGED")
    _resign(element, keys)
    assert _refusal(lambda: _parse(keys, now, element)) == (
        "bad-boolean:MDS_firstname ida:Verified 'yes\\nFORGED' (not an xs:boolean: true or false)"
    )


def test_wrong_audience_and_recipient_name_what_was_sent(keys, now):
    element = _build(keys, now, audience="https://elsewhere.test", recipient="https://elsewhere.test/acs")
    assert _refusal(lambda: _parse(keys, now, element)) == (
        f"wrong-recipient:'https://elsewhere.test/acs' (expected {HUB_ACS})"
    )
    assert _refusal(lambda: _parse(keys, now, element, expected_recipient="https://elsewhere.test/acs")) == (
        f"wrong-audience:'https://elsewhere.test' (expected {HUB})"
    )


def test_a_missing_element_is_named_with_its_prefix(keys, now):
    element = _build(keys, now)
    element.remove(element.find(q(SAML_NS, "Conditions")))
    _resign(element, keys)
    assert _refusal(lambda: _parse(keys, now, element)) == (
        "missing-conditions:saml:Conditions (expected exactly one in saml:Assertion, found 0)"
    )


def test_two_mds_assertions_say_the_authn_statement_is_missing(keys, now):
    mds = _parse(keys, now, _build(keys, now, attributes=mds_attributes(DATASET)))
    other = _parse(keys, now, _build(keys, now, attributes=mds_attributes(DATASET)))
    assert _refusal(lambda: split_idp_assertions([mds, other], response_issuer=IDP)) == (
        "wrong-assertions:saml:AuthnStatement (in neither assertion; put it in the authn assertion)"
    )


def test_a_signature_algorithm_refusal_names_the_uri(keys, now):
    element = _build(keys, now)
    method = element.find(
        f"{{{xmlsecurity.DS}}}Signature/{{{xmlsecurity.DS}}}SignedInfo/{{{xmlsecurity.DS}}}SignatureMethod"
    )
    method.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#rsa-sha1")
    assert _refusal(lambda: _parse(keys, now, element)) == (
        "signature-algorithm-not-allowed:http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    )


def test_an_unknown_issuer_is_escaped(keys, now):
    element = _build(keys, now, issuer="https://evil.test/\nFORGED")
    assert _refusal(lambda: _parse(keys, now, element)) == (
        "unknown-issuer:'https://evil.test/\\nFORGED' is not in the federation"
    )


def _in_address(element, tag: str, text: str | None) -> None:
    etree.SubElement(_value_of(element, "MDS_currentaddress"), q(IDA_NS, tag)).text = text


# Each malformed address: how it is made from a genuine one and the refusal. An address's children are read
# in one pass; these pin that every refusal and its order stay as they were.
MALFORMED_ADDRESSES = {
    "unexpected-element": (
        lambda e: _in_address(e, "County", "Avon"),
        "bad-attribute-value:MDS_currentaddress (ida:County in an address: Line, PostCode, InternationalPostCode,"
        " UPRN)",
    ),
    "two-postcodes": (
        lambda e: _in_address(e, "PostCode", "BS1 1AA"),
        "bad-attribute-value:ida:PostCode (at most one in saml:AttributeValue, found 2)",
    ),
    "two-uprns": (
        lambda e: _in_address(e, "UPRN", "1"),
        "bad-attribute-value:ida:UPRN (at most one in saml:AttributeValue, found 2)",
    ),
    "text-outside-lines": (
        lambda e: setattr(_value_of(e, "MDS_currentaddress"), "text", "Flat 2"),
        "bad-attribute-value:MDS_currentaddress (text directly inside an address: put it in ida:Line)",
    ),
    "element-in-a-line": (
        lambda e: etree.SubElement(_value_of(e, "MDS_currentaddress")[0], q(IDA_NS, "Line")),
        "unexpected-child:ida:Line inside ida:Line",
    ),
}


@pytest.mark.parametrize("case", MALFORMED_ADDRESSES)
def test_a_malformed_address_is_refused_with_what_was_wrong(keys, now, case):
    mutate, refusal = MALFORMED_ADDRESSES[case]
    element = _build(keys, now, attributes=mds_attributes(DATASET))
    mutate(element)
    _resign(element, keys)
    assert _refusal(lambda: _parse(keys, now, element)) == refusal
