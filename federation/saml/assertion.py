"""Assertions: build (IDP, matching service, hub cycle 3) and validate + read (hub, MS, RP).

The assertion is built straight as an lxml tree and signed in place (federation.saml._build says why not
pysaml2's object model). The profile's attribute values are custom xsi types in the Verify namespace
(`ida:PersonNameType`, `ida:AddressType`, ...) carrying namespaced `ida:Verified`/`ida:From`/`ida:To`
attributes and, for addresses, child elements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lxml import etree

from federation import xmlsecurity
from federation.credentials import SigningCredential
from federation.identity import Address, MatchingDataset, MdsValue
from federation.loa import LevelOfAssurance
from federation.logsafe import log_safe
from federation.saml import _build, _common
from federation.saml import constants as c
from federation.saml.constants import IDA_NS, SAML_NS, XSI_NS, q
from federation.saml.errors import SamlValidationError
from federation.saml.ids import instant, new_id, parse_instant

DEFAULT_ASSERTION_VALIDITY = timedelta(minutes=90)  # IDP assertions are reused for cycle 3 later in a session


# --- typed attribute values -----------------------------------------------------------------------------
# The matching dataset's values are domain data (`federation.identity`); here they meet their SAML form.

AttributeValue = MdsValue[str] | MdsValue[date] | Address | bool | str


@dataclass(frozen=True)
class Attribute:
    name: str
    values: tuple[AttributeValue, ...]


def mds_attributes(dataset: MatchingDataset) -> tuple[Attribute, ...]:
    """The matching dataset as the profile's MDS attributes (an IDP's assertion, a test's fixture)."""
    pairs: list[tuple[str, tuple[AttributeValue, ...]]] = [
        (c.MDS_FIRSTNAME, dataset.first_names),
        (c.MDS_MIDDLENAME, dataset.middle_names),
        (c.MDS_SURNAME, dataset.surnames),
        (c.MDS_GENDER, (dataset.gender,) if dataset.gender else ()),
        (c.MDS_DATEOFBIRTH, (dataset.date_of_birth,) if dataset.date_of_birth else ()),
        (c.MDS_CURRENTADDRESS, (dataset.current_address,) if dataset.current_address else ()),
        (c.MDS_PREVIOUSADDRESS, dataset.previous_addresses),
    ]
    return tuple(Attribute(name, values) for name, values in pairs if values)


_MDS_NAMES = frozenset(c.MDS_VALUE_TYPES)


def _values_of(attributes: dict[str, tuple[AttributeValue, ...]], name: str, kind: type) -> tuple:
    values = attributes.get(name, ())
    for value in values:
        ok = isinstance(value, kind)
        if ok and kind is MdsValue:
            expected = date if name == c.MDS_DATEOFBIRTH else str
            ok = isinstance(value.value, expected)
        if not ok:
            detail = f"{name} (expected xsi:type ida:{c.MDS_VALUE_TYPES[name]})"
            raise SamlValidationError("bad-attribute-value", f"{name} has a value of the wrong type", detail=detail)
    return values


def _single(attributes: dict[str, tuple[AttributeValue, ...]], name: str, kind: type) -> object | None:
    values = _values_of(attributes, name, kind)
    if len(values) > 1:
        detail = f"{name} ({len(values)} values; send one)"
        raise SamlValidationError("multi-valued-attribute", f"{name} must have one value", detail=detail)
    return values[0] if values else None


def _matching_dataset(attributes: dict[str, tuple[AttributeValue, ...]]) -> MatchingDataset | None:
    if not _MDS_NAMES & attributes.keys():
        return None
    return MatchingDataset(
        first_names=_values_of(attributes, c.MDS_FIRSTNAME, MdsValue),
        middle_names=_values_of(attributes, c.MDS_MIDDLENAME, MdsValue),
        surnames=_values_of(attributes, c.MDS_SURNAME, MdsValue),
        gender=_single(attributes, c.MDS_GENDER, MdsValue),  # type: ignore[arg-type]
        date_of_birth=_single(attributes, c.MDS_DATEOFBIRTH, MdsValue),  # type: ignore[arg-type]
        current_address=_single(attributes, c.MDS_CURRENTADDRESS, Address),  # type: ignore[arg-type]
        previous_addresses=_values_of(attributes, c.MDS_PREVIOUSADDRESS, Address),
    )


# --- building -------------------------------------------------------------------------------------------

_STRING_TYPES = {
    c.TXN_IPADDRESS: c.TYPE_IP_ADDRESS,
    c.FECI_IDP_FRAUD_EVENT_ID: c.TYPE_FRAUD_EVENT_ID,
    c.FECI_GPG45_STATUS: c.TYPE_GPG45_STATUS,
}
_XSI_TYPE = q(XSI_NS, "type")
_VERIFIED, _FROM, _TO = q(IDA_NS, c.ATTR_VERIFIED), q(IDA_NS, c.ATTR_FROM), q(IDA_NS, c.ATTR_TO)
_LANGUAGE = q(IDA_NS, c.ATTR_LANGUAGE)
_LINE, _POSTCODE = q(IDA_NS, c.ADDRESS_LINE), q(IDA_NS, c.ADDRESS_POSTCODE)
_INTERNATIONAL_POSTCODE, _UPRN = q(IDA_NS, c.ADDRESS_INTERNATIONAL_POSTCODE), q(IDA_NS, c.ADDRESS_UPRN)
_ADDRESS_PARTS = frozenset({_LINE, _POSTCODE, _INTERNATIONAL_POSTCODE, _UPRN})
_ATTRIBUTE_STATEMENT, _ATTRIBUTE = q(SAML_NS, "AttributeStatement"), q(SAML_NS, "Attribute")
_ENCRYPTED_ATTRIBUTE, _ATTRIBUTE_VALUE = q(SAML_NS, "EncryptedAttribute"), q(SAML_NS, "AttributeValue")


def _period(element: etree._Element, verified: bool, start: date | None, end: date | None) -> None:
    element.set(_VERIFIED, "true" if verified else "false")
    if start is not None:
        element.set(_FROM, start.isoformat())
    if end is not None:
        element.set(_TO, end.isoformat())


def _value_element(parent: etree._Element, name: str, value: AttributeValue) -> None:
    """Append `value` to the Attribute `parent` (made in place: the statement declares ida and xsi once)."""
    element = etree.SubElement(parent, _ATTRIBUTE_VALUE)
    if isinstance(value, Address):
        xsi_type = c.TYPE_ADDRESS
        for line in value.lines:
            etree.SubElement(element, _LINE).text = line
        for tag, text in (
            (_POSTCODE, value.postcode),
            (_INTERNATIONAL_POSTCODE, value.international_postcode),
            (_UPRN, value.uprn),
        ):
            if text is not None:
                etree.SubElement(element, tag).text = text
        _period(element, value.verified, value.from_date, value.to_date)
    elif isinstance(value, MdsValue):
        if isinstance(value.value, date):
            xsi_type, element.text = c.TYPE_DATE, value.value.isoformat()
        else:
            xsi_type = c.TYPE_GENDER if name == c.MDS_GENDER else c.TYPE_PERSON_NAME  # MDS_VALUE_TYPES agrees
            element.text = value.value
            if xsi_type == c.TYPE_PERSON_NAME:
                element.set(_LANGUAGE, c.IDA_LANGUAGE)
        _period(element, value.verified, value.from_date, value.to_date)
    elif isinstance(value, bool):
        xsi_type, element.text = c.TYPE_VERIFIED, "true" if value else "false"
    elif isinstance(value, str):
        xsi_type, element.text = _STRING_TYPES.get(name, c.TYPE_STRING), value
    else:
        raise TypeError(f"unsupported attribute value type {type(value).__name__}")
    element.set(_XSI_TYPE, f"ida:{xsi_type}")


def attribute_statement(attributes: Iterable[Attribute]) -> etree._Element:
    """The statement, every element made in place with SubElement (lxml.builder cost about twice as much)."""
    statement = etree.Element(_ATTRIBUTE_STATEMENT, nsmap={"saml": SAML_NS, "ida": IDA_NS, "xsi": XSI_NS})
    for attribute in attributes:
        element = etree.SubElement(statement, _ATTRIBUTE)
        element.set("Name", attribute.name)
        if attribute.name in c.FRIENDLY_NAMES:
            element.set("FriendlyName", c.FRIENDLY_NAMES[attribute.name])
        element.set("NameFormat", c.ATTRNAME_FORMAT_UNSPECIFIED)
        for value in attribute.values:
            _value_element(element, attribute.name, value)
    return statement


def build_assertion(
    *,
    issuer: str,
    name_id: str,
    audience: str,
    recipient: str,
    in_response_to: str | None,
    credential: SigningCredential,
    now: datetime,
    level_of_assurance: LevelOfAssurance | None = None,
    fraud: bool = False,
    authn_instant: datetime | None = None,
    attributes: Sequence[Attribute] = (),
    sp_name_qualifier: str | None = None,
    name_qualifier: str | None = None,
    valid_for: timedelta = DEFAULT_ASSERTION_VALIDITY,
    assertion_id: str | None = None,
    attribute_statement_element: etree._Element | None = None,
) -> etree._Element:
    """A signed assertion. An AuthnStatement is added when a LoA is given, or with `levelX` if `fraud`.

    `attribute_statement_element`: an AttributeStatement the caller built, used instead of `attributes`
    (the standard profile's plain `xs:string` values, federation.saml.standard).
    """
    if fraud and level_of_assurance is not None:
        raise ValueError("a fraud assertion carries levelX, not a level of assurance")
    if attributes and attribute_statement_element is not None:
        raise ValueError("give attributes or an attribute statement element, not both")
    expires = instant(now + valid_for)
    element = _build.root(
        q(SAML_NS, "Assertion"),
        (("Version", c.SAML_VERSION), ("ID", assertion_id or new_id()), ("IssueInstant", instant(now))),
        nsmap=_build.ASSERTION_NSMAP,
    )
    _build.issuer(element, issuer)
    _build.bearer_subject(
        element,
        name_id=name_id,
        sp_name_qualifier=sp_name_qualifier,
        name_qualifier=name_qualifier,
        recipient=recipient,
        in_response_to=in_response_to,
        not_on_or_after=expires,
    )
    conditions = _build.child(
        element, q(SAML_NS, "Conditions"), (("NotBefore", instant(now)), ("NotOnOrAfter", expires))
    )
    restriction = _build.child(conditions, q(SAML_NS, "AudienceRestriction"))
    _build.child(restriction, q(SAML_NS, "Audience"), text=audience)
    if level_of_assurance is not None or fraud:
        uri = c.LOA_LEVEL_X_URI if fraud else level_of_assurance.uri  # type: ignore[union-attr]
        statement = _build.child(
            element, q(SAML_NS, "AuthnStatement"), (("AuthnInstant", instant(authn_instant or now)),)
        )
        context = _build.child(statement, q(SAML_NS, "AuthnContext"))
        _build.child(context, q(SAML_NS, "AuthnContextClassRef"), text=uri)
    if attributes:
        element.append(attribute_statement(attributes))
    if attribute_statement_element is not None:
        element.append(attribute_statement_element)
    return xmlsecurity.sign(element, credential)


# --- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssertionData:
    id: str
    issuer: str
    issue_instant: datetime
    name_id: str
    name_qualifier: str | None
    sp_name_qualifier: str | None
    level_of_assurance: LevelOfAssurance | None
    is_fraud: bool  # AuthnContext levelX
    authn_instant: datetime | None
    not_on_or_after: datetime  # of the bearer confirmation: keep the ID in the replay cache until then
    in_response_to: str | None
    attributes: tuple[Attribute, ...]
    matching_dataset: MatchingDataset | None

    @property
    def has_authn_statement(self) -> bool:
        return self.level_of_assurance is not None or self.is_fraud

    def values(self, name: str) -> tuple[AttributeValue, ...]:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute.values
        return ()

    def single_text(self, name: str) -> str | None:
        """The one plain-string value of `name` (TXN_IPaddress, fraud attributes, cycle 3)."""
        values = self.values(name)
        if len(values) != 1 or not isinstance(values[0], str):
            return None
        return values[0]

    @property
    def ip_address(self) -> str | None:
        return self.single_text(c.TXN_IPADDRESS)

    @property
    def fraud_event_id(self) -> str | None:
        return self.single_text(c.FECI_IDP_FRAUD_EVENT_ID)

    @property
    def gpg45_status(self) -> str | None:
        return self.single_text(c.FECI_GPG45_STATUS)


def _date(text: str | None, *, field: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        detail = f"{field} (not an xs:date, e.g. 1985-03-14)"
        raise SamlValidationError("bad-attribute-value", f"{field} is not a date", detail=detail) from None


XsiType = tuple[str | None, str | None]  # (namespace, local name) of a value's xsi:type


def _xsi_type(element: etree._Element) -> XsiType:
    raw = element.get(_XSI_TYPE)
    if raw is None:
        return None, None
    prefix, _, local = raw.strip().rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    return namespace, local


def _check_mds_type(name: str, element: etree._Element, xsi_type: XsiType) -> None:
    """An MDS value must declare the profile's xsi:type for its attribute (`constants.MDS_VALUE_TYPES`)."""
    expected = c.MDS_VALUE_TYPES[name]
    if xsi_type == (IDA_NS, expected):
        return
    declared = element.get(_XSI_TYPE)
    got = "no xsi:type" if declared is None else f"xsi:type {log_safe(declared)}"
    if declared is not None and xsi_type[0] != IDA_NS:
        got += f" (its prefix is not bound to {IDA_NS})"
    detail = f"{name} (expected xsi:type ida:{expected}, got {got})"
    raise SamlValidationError("bad-attribute-type", f"{name} values must be ida:{expected}", detail=detail)


def _read_address(element: etree._Element, name: str) -> tuple[tuple[str, ...], str | None, str | None, str | None]:
    """An address's lines, postcode, international postcode and UPRN, its children read in one pass."""
    parts: dict[str, list[etree._Element]] = {_LINE: [], _POSTCODE: [], _INTERNATIONAL_POSTCODE: [], _UPRN: []}
    for child in element:
        if child.tag not in _ADDRESS_PARTS:
            detail = f"{name} ({_common.name(child)} in an address: Line, PostCode, InternationalPostCode, UPRN)"
            raise SamlValidationError("bad-attribute-value", "unexpected element in an address", detail=detail)
        parts[child.tag].append(child)
    if (element.text or "").strip():
        detail = f"{name} (text directly inside an address: put it in ida:Line)"
        raise SamlValidationError("bad-attribute-value", "text directly inside an address", detail=detail)
    lines = tuple(_common.full_text(line) for line in parts[_LINE])

    def opt(tag: str) -> str | None:
        found = _common.at_most_one(parts[tag], element, tag, reason="bad-attribute-value")
        return _common.full_text(found) if found is not None else None

    return lines, opt(_POSTCODE), opt(_INTERNATIONAL_POSTCODE), opt(_UPRN)


def _read_value(element: etree._Element, name: str, xsi_type: XsiType) -> AttributeValue:
    namespace, local = xsi_type
    verified = _common.parse_bool(element.get(_VERIFIED), default=False, field=f"{name} ida:{c.ATTR_VERIFIED}")
    start = _date(element.get(_FROM), field=f"{name} ida:{c.ATTR_FROM}")
    end = _date(element.get(_TO), field=f"{name} ida:{c.ATTR_TO}")
    if namespace == IDA_NS and local == c.TYPE_ADDRESS:
        lines, postcode, international_postcode, uprn = _read_address(element, name)
        return Address(lines, postcode, international_postcode, uprn, verified, start, end)
    try:
        text = _common.full_text(element)
    except SamlValidationError as exc:
        detail = f"{name} (an element inside a value of xsi:type {log_safe(element.get(_XSI_TYPE))})"
        raise SamlValidationError(
            "bad-attribute-value", "an attribute value has unexpected content", detail=detail
        ) from exc
    if namespace == IDA_NS and local in (c.TYPE_PERSON_NAME, c.TYPE_GENDER):
        return MdsValue(text, verified, start, end)
    if namespace == IDA_NS and local == c.TYPE_DATE:
        return MdsValue(_date(text, field=name), verified, start, end)  # type: ignore[arg-type]
    if namespace == IDA_NS and local == c.TYPE_VERIFIED:
        return _common.parse_bool(text, default=False, field=f"{name} value")
    return text


def _attributes(signed: etree._Element) -> tuple[Attribute, ...]:
    collected: dict[str, tuple[AttributeValue, ...]] = {}
    for statement in signed.iterchildren(_ATTRIBUTE_STATEMENT):
        for element in statement:
            if element.tag == _ENCRYPTED_ATTRIBUTE:
                raise SamlValidationError(
                    "encrypted-attribute", "encrypted attributes are not supported", detail="saml:EncryptedAttribute"
                )
            if element.tag != _ATTRIBUTE:
                detail = f"{_common.name(element)} in saml:AttributeStatement"
                raise SamlValidationError("bad-attribute", "unexpected element in an AttributeStatement", detail=detail)
            name = element.get("Name")
            if not name:
                raise SamlValidationError("bad-attribute", "an Attribute has no Name", detail="saml:Attribute/@Name")
            value_elements = list(element.iterchildren(_ATTRIBUTE_VALUE))
            xsi_types = [_xsi_type(v) for v in value_elements]  # each read once: checked, then used
            shown = name if name in c.FRIENDLY_NAMES else log_safe(name)  # our names as they are; others escaped
            if name in c.MDS_VALUE_TYPES:
                for value_element, xsi_type in zip(value_elements, xsi_types, strict=True):
                    _check_mds_type(name, value_element, xsi_type)
            values = tuple(_read_value(v, shown, t) for v, t in zip(value_elements, xsi_types, strict=True))
            if name in collected and collected[name] != values:
                raise SamlValidationError(
                    "duplicate-attribute", f"{shown} appears twice with different values", detail=shown
                )
            collected[name] = values
    return tuple(Attribute(name, values) for name, values in collected.items())


def _subject(signed: etree._Element) -> tuple[etree._Element, etree._Element]:
    subject = _common.one(signed, q(SAML_NS, "Subject"), reason="bad-subject")
    if subject.find(q(SAML_NS, "EncryptedID")) is not None:
        raise SamlValidationError(
            "encrypted-nameid", "encrypted NameIDs are not supported", detail="saml:EncryptedID (send saml:NameID)"
        )
    name_id = _common.one(subject, q(SAML_NS, "NameID"), reason="bad-subject")
    confirmation = _common.one(subject, q(SAML_NS, "SubjectConfirmation"), reason="bad-subject-confirmation")
    return name_id, confirmation


def _check_confirmation(
    confirmation: etree._Element,
    *,
    expected_recipient: str,
    expected_in_response_to: str | None,
    now: datetime,
    clock_skew: timedelta,
) -> tuple[datetime, str | None]:
    if confirmation.get("Method") != c.SUBJECT_CONFIRMATION_BEARER:
        detail = f"Method {log_safe(confirmation.get('Method'), max_chars=120)} (use {c.SUBJECT_CONFIRMATION_BEARER})"
        raise SamlValidationError("not-bearer", "only bearer subject confirmation is accepted", detail=detail)
    data = _common.one(confirmation, q(SAML_NS, "SubjectConfirmationData"), reason="bad-subject-confirmation")
    if data.get("Recipient") != expected_recipient:
        detail = f"{log_safe(data.get('Recipient'), max_chars=120)} (expected {expected_recipient})"
        raise SamlValidationError("wrong-recipient", "Recipient is not this endpoint", detail=detail)
    in_response_to = data.get("InResponseTo")
    if expected_in_response_to is not None and in_response_to != expected_in_response_to:
        detail = (
            f"saml:SubjectConfirmationData InResponseTo {log_safe(in_response_to)}"
            f" (expected {log_safe(expected_in_response_to)})"
        )
        raise SamlValidationError("wrong-in-response-to", "the assertion answers another request", detail=detail)
    if data.get("NotBefore") is not None:
        raise SamlValidationError(
            "bad-subject-confirmation",
            "a bearer confirmation must not have NotBefore",
            detail="saml:SubjectConfirmationData has NotBefore (leave it out)",
        )
    not_on_or_after = parse_instant(data.get("NotOnOrAfter"), field="NotOnOrAfter")
    if now - clock_skew >= not_on_or_after:
        detail = f"saml:SubjectConfirmationData NotOnOrAfter {not_on_or_after:%Y-%m-%dT%H:%M:%SZ} has passed"
        raise SamlValidationError("subject-confirmation-expired", "the bearer confirmation has expired", detail=detail)
    return not_on_or_after, in_response_to


def _check_conditions(signed: etree._Element, *, expected_audience: str, now: datetime, clock_skew: timedelta) -> None:
    conditions = _common.one(signed, q(SAML_NS, "Conditions"), reason="missing-conditions")
    restrictions = conditions.findall(q(SAML_NS, "AudienceRestriction"))
    if not restrictions:
        detail = f"no saml:AudienceRestriction (expected one naming {expected_audience})"
        raise SamlValidationError("wrong-audience", "the assertion has no AudienceRestriction", detail=detail)
    for restriction in restrictions:  # every restriction must admit us (SAML core 2.5.1.4)
        audiences = [_common.full_text(a) for a in restriction.findall(q(SAML_NS, "Audience"))]
        if expected_audience not in audiences:
            shown = ", ".join(log_safe(a, max_chars=120) for a in audiences[:3]) or "no saml:Audience"
            detail = f"{shown} (expected {expected_audience})"
            raise SamlValidationError("wrong-audience", "the assertion is not addressed to us", detail=detail)
    not_before = conditions.get("NotBefore")
    if not_before is not None and now + clock_skew < (start := parse_instant(not_before, field="NotBefore")):
        detail = f"saml:Conditions NotBefore {start:%Y-%m-%dT%H:%M:%SZ} is ahead (check the clock)"
        raise SamlValidationError("assertion-not-yet-valid", "the assertion is not valid yet", detail=detail)
    not_on_or_after = conditions.get("NotOnOrAfter")
    if not_on_or_after is not None and now - clock_skew >= (
        end := parse_instant(not_on_or_after, field="NotOnOrAfter")
    ):
        detail = f"saml:Conditions NotOnOrAfter {end:%Y-%m-%dT%H:%M:%SZ} has passed"
        raise SamlValidationError("assertion-expired", "the assertion has expired", detail=detail)


def _authn(signed: etree._Element, expect: bool | None) -> tuple[LevelOfAssurance | None, bool, datetime | None]:
    statements = signed.findall(q(SAML_NS, "AuthnStatement"))
    if len(statements) > 1:
        detail = f"saml:AuthnStatement ({len(statements)} in one assertion; send one)"
        raise SamlValidationError("multiple-authn-statements", "more than one AuthnStatement", detail=detail)
    if expect is True and not statements:
        raise SamlValidationError(
            "missing-authn-statement", "the assertion has no AuthnStatement", detail="saml:AuthnStatement"
        )
    if expect is False and statements:
        raise SamlValidationError(
            "unexpected-authn-statement", "the assertion must not have an AuthnStatement", detail="saml:AuthnStatement"
        )
    if not statements:
        return None, False, None
    statement = statements[0]
    authn_instant = parse_instant(statement.get("AuthnInstant"), field="AuthnInstant")
    context = _common.one(statement, q(SAML_NS, "AuthnContext"), reason="bad-authn-context")
    ref = _common.one(context, q(SAML_NS, "AuthnContextClassRef"), reason="bad-authn-context")
    uri = _common.full_text(ref)
    if uri == c.LOA_LEVEL_X_URI:
        return None, True, authn_instant
    try:
        return LevelOfAssurance.from_uri(uri), False, authn_instant
    except ValueError:
        detail = f"saml:AuthnContextClassRef {log_safe(uri, max_chars=120)} (not a level of this federation)"
        raise SamlValidationError("unknown-loa", "AuthnContextClassRef is not a known LoA", detail=detail) from None


def parse_assertion(
    assertion: bytes | etree._Element,
    *,
    certificates_for_issuer: _common.CertificateLookup,
    expected_audience: str,
    expected_recipient: str,
    expected_in_response_to: str | None,
    now: datetime,
    clock_skew: timedelta = _common.DEFAULT_CLOCK_SKEW,
    expect_authn_statement: bool | None = None,
    max_bytes: int = xmlsecurity.MAX_MESSAGE_BYTES,
) -> AssertionData:
    """Validate a (decrypted) assertion and read it from the signed element only.

    `expected_in_response_to=None` skips that one comparison: only for a party that cannot know the
    request the assertion answers (the matching service reading IDP assertions relayed by the hub).
    `expect_authn_statement`: True = exactly one, False = none, None = at most one.
    """
    element = _common.parse(assertion, max_bytes=max_bytes)
    _common.check_message(element, q(SAML_NS, "Assertion"))
    issuer = _common.issuer_of(element)
    certificates = _common.certificates_for(certificates_for_issuer, issuer)
    signed = _common.verify_signature(element, certificates)
    issued = parse_instant(signed.get("IssueInstant"), field="IssueInstant")
    if issued > now + clock_skew:
        detail = f"saml:Assertion IssueInstant {issued:%Y-%m-%dT%H:%M:%SZ} is ahead (check the clock)"
        raise SamlValidationError("issue-instant-in-future", "IssueInstant is in the future", detail=detail)
    name_id_el, confirmation = _subject(signed)
    not_on_or_after, in_response_to = _check_confirmation(
        confirmation,
        expected_recipient=expected_recipient,
        expected_in_response_to=expected_in_response_to,
        now=now,
        clock_skew=clock_skew,
    )
    _check_conditions(signed, expected_audience=expected_audience, now=now, clock_skew=clock_skew)
    if name_id_el.get("Format", c.NAMEID_FORMAT_PERSISTENT) != c.NAMEID_FORMAT_PERSISTENT:
        detail = (
            f"saml:NameID Format {log_safe(name_id_el.get('Format'), max_chars=120)} (use {c.NAMEID_FORMAT_PERSISTENT})"
        )
        raise SamlValidationError("bad-nameid-format", "NameID must be persistent", detail=detail)
    name_id = _common.full_text(name_id_el)
    if not name_id:
        raise SamlValidationError("bad-subject", "NameID is empty", detail="saml:NameID is empty")
    level, is_fraud, authn_instant = _authn(signed, expect_authn_statement)
    attributes = _attributes(signed)
    by_name = {a.name: a.values for a in attributes}
    return AssertionData(
        id=signed.get("ID"),
        issuer=issuer,
        issue_instant=issued,
        name_id=name_id,
        name_qualifier=name_id_el.get("NameQualifier"),
        sp_name_qualifier=name_id_el.get("SPNameQualifier"),
        level_of_assurance=level,
        is_fraud=is_fraud,
        authn_instant=authn_instant,
        not_on_or_after=not_on_or_after,
        in_response_to=in_response_to,
        attributes=attributes,
        matching_dataset=_matching_dataset(by_name),
    )


@dataclass(frozen=True)
class IdpAssertions:
    authn: AssertionData  # AuthnStatement (LoA or levelX), TXN_IPaddress, fraud attributes
    matching_dataset: AssertionData  # MDS attributes, no AuthnStatement


def split_idp_assertions(assertions: Sequence[AssertionData], *, response_issuer: str) -> IdpAssertions:
    """The profile's two IDP assertions: same Issuer (the Response's) and the same NameID."""
    if len(assertions) != 2:
        detail = f"{len(assertions)} saml:EncryptedAssertion (send two: authn and matching dataset)"
        raise SamlValidationError(
            "wrong-assertion-count", "an IDP success response carries two assertions", detail=detail
        )
    other = next((a for a in assertions if a.issuer != response_issuer), None)
    if other is not None:
        detail = (
            f"saml:Assertion Issuer {log_safe(other.issuer, max_chars=120)}"
            f" (expected the Response's, {log_safe(response_issuer, max_chars=120)})"
        )
        raise SamlValidationError(
            "issuer-mismatch", "an assertion's Issuer is not the Response's Issuer", detail=detail
        )
    if assertions[0].name_id != assertions[1].name_id:
        detail = "saml:NameID (the two assertions must carry the same persistent NameID)"
        raise SamlValidationError("name-id-mismatch", "the assertions are about different subjects", detail=detail)
    authn = [a for a in assertions if a.has_authn_statement]
    mds = [a for a in assertions if not a.has_authn_statement]
    if len(authn) != 1 or len(mds) != 1:
        detail = (
            "saml:AuthnStatement (in neither assertion; put it in the authn assertion)"
            if not authn
            else "saml:AuthnStatement (in both assertions; the matching dataset assertion has none)"
        )
        raise SamlValidationError(
            "wrong-assertions", "expected one authn assertion and one MDS assertion", detail=detail
        )
    if mds[0].matching_dataset is None:
        detail = "no MDS_* attribute in the assertion without an AuthnStatement"
        raise SamlValidationError(
            "missing-matching-dataset", "the MDS assertion has no matching dataset", detail=detail
        )
    return IdpAssertions(authn=authn[0], matching_dataset=mds[0])
