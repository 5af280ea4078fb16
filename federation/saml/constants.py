"""Protocol identifiers of the SAML profile: one place, spelt exactly as they travel on the wire.

The attribute value types follow the GOV.UK Verify profile (namespace `IDA_NS`, prefix `ida`), so a
service or IDP built for that profile reads our attributes and we read theirs.
"""

from __future__ import annotations

import enum

from federation.loa import LEVEL_X_URI

# Namespaces
SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XENC_NS = "http://www.w3.org/2001/04/xmlenc#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XS_NS = "http://www.w3.org/2001/XMLSchema"
XS_STRING = "xs:string"  # an xsi:type value, with XS_NS bound to the prefix `xs`
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
IDA_NS = "http://www.cabinetoffice.gov.uk/resource-library/ida/attributes"

NSMAP = {"saml": SAML_NS, "samlp": SAMLP_NS, "ds": DS_NS, "xenc": XENC_NS, "xsi": XSI_NS, "ida": IDA_NS}

SAML_VERSION = "2.0"

# Bindings
BINDING_HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_SOAP = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"

# Formats and methods
NAMEID_FORMAT_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_FORMAT_ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
SUBJECT_CONFIRMATION_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ATTRNAME_FORMAT_UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
ATTRNAME_FORMAT_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"

# Levels of assurance: LevelOfAssurance (federation.loa) for level1..4; levelX marks a fraud response.
LOA_LEVEL_X_URI = LEVEL_X_URI

# Top-level and SAML second-level status codes
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_VERSION_MISMATCH = "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch"
TOP_LEVEL_STATUSES = frozenset({STATUS_SUCCESS, STATUS_REQUESTER, STATUS_RESPONDER, STATUS_VERSION_MISMATCH})

STATUS_NO_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
STATUS_AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
STATUS_REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"

# Cabinet-office status codes (matching service replies and hub -> RP no-match)
_CO_STATUS = "urn:uk:gov:cabinet-office:tc:saml:statuscode:"
STATUS_MATCH = _CO_STATUS + "match"
STATUS_NO_MATCH = _CO_STATUS + "no-match"
STATUS_MULTIPLE_MATCH = _CO_STATUS + "multiple-match"
STATUS_CREATED = _CO_STATUS + "created"
STATUS_CREATE_FAILURE = _CO_STATUS + "create-failure"
STATUS_HEALTHY = _CO_STATUS + "healthy"

# StatusDetail values an IDP sends (in `StatusDetail`, as the text of one child element)
STATUS_DETAIL_AUTHN_CANCEL = "authn-cancel"
STATUS_DETAIL_LOA_PENDING = "loa-pending"
STATUS_DETAIL_UPLIFT_FAILED = "uplift-failed"

# Matching dataset (MDS) attributes, with the friendly names the Verify profile uses
MDS_FIRSTNAME = "MDS_firstname"
MDS_MIDDLENAME = "MDS_middlename"
MDS_SURNAME = "MDS_surname"
MDS_GENDER = "MDS_gender"
MDS_DATEOFBIRTH = "MDS_dateofbirth"
MDS_CURRENTADDRESS = "MDS_currentaddress"
MDS_PREVIOUSADDRESS = "MDS_previousaddress"
TXN_IPADDRESS = "TXN_IPaddress"
FECI_IDP_FRAUD_EVENT_ID = "FECI_IDPFraudEventID"
FECI_GPG45_STATUS = "FECI_GPG45Status"

FRIENDLY_NAMES = {
    MDS_FIRSTNAME: "Firstname",
    MDS_MIDDLENAME: "Middlename(s)",
    MDS_SURNAME: "Surname",
    MDS_GENDER: "Gender",
    MDS_DATEOFBIRTH: "Date of Birth",
    MDS_CURRENTADDRESS: "Current Address",
    MDS_PREVIOUSADDRESS: "Previous Address",
    TXN_IPADDRESS: "IPAddress",
    FECI_IDP_FRAUD_EVENT_ID: "IDPFraudEventID",
    FECI_GPG45_STATUS: "GPG45Status",
}

# Account-creation attributes (the RP asks for them; the matching service returns them)
ACCOUNT_CREATION_ATTRIBUTES = (
    "FIRST_NAME",
    "FIRST_NAME_VERIFIED",
    "MIDDLE_NAME",
    "MIDDLE_NAME_VERIFIED",
    "SURNAME",
    "SURNAME_VERIFIED",
    "DATE_OF_BIRTH",
    "DATE_OF_BIRTH_VERIFIED",
    "CURRENT_ADDRESS",
    "CURRENT_ADDRESS_VERIFIED",
    "ADDRESS_HISTORY",
    "CYCLE_3",
)


class SamlProfile(enum.StrEnum):
    """What a service receives from the hub (its config's `saml_profile`; docs/saml-profiles.md)."""

    VERIFY = "verify"  # the matching service's assertion, or the IDP's two, readable with our client library
    STANDARD = "standard"  # one hub-signed assertion with plain string attributes, for any SAML library


# The standard profile's attribute catalogue: a service lists the ones it wants (config `attributes`), and
# each released one travels as an Attribute of this Name with a `<name>_verified` companion ("true"/"false").
STANDARD_ATTRIBUTES = (
    "first_name",
    "middle_names",
    "surname",
    "date_of_birth",
    "gender",
    "address_lines",
    "postcode",
    "uprn",
)
VERIFIED_SUFFIX = "_verified"
MATCHING_OUTCOME = "matching_outcome"  # standard profile, services with a matching service only


class MatchingOutcome(enum.StrEnum):
    """The value of `matching_outcome`: the department found the citizen, or created an account for them."""

    MATCH = "match"
    ACCOUNT_CREATED = "account-created"


# xsi:type of attribute values (local names in IDA_NS)
TYPE_PERSON_NAME = "PersonNameType"
TYPE_GENDER = "GenderType"
TYPE_DATE = "DateType"
TYPE_ADDRESS = "AddressType"
TYPE_IP_ADDRESS = "IPAddressType"
TYPE_FRAUD_EVENT_ID = "IdpFraudEventIdType"
TYPE_GPG45_STATUS = "Gpg45StatusType"
TYPE_VERIFIED = "VerifiedType"
TYPE_STRING = "StringBasedMdsAttributeValue"

# The xsi:type every value of each MDS attribute must declare (a local name in IDA_NS)
MDS_VALUE_TYPES = {
    MDS_FIRSTNAME: TYPE_PERSON_NAME,
    MDS_MIDDLENAME: TYPE_PERSON_NAME,
    MDS_SURNAME: TYPE_PERSON_NAME,
    MDS_GENDER: TYPE_GENDER,
    MDS_DATEOFBIRTH: TYPE_DATE,
    MDS_CURRENTADDRESS: TYPE_ADDRESS,
    MDS_PREVIOUSADDRESS: TYPE_ADDRESS,
}

# Attribute value attributes and address children (in IDA_NS)
ATTR_VERIFIED = "Verified"
ATTR_FROM = "From"
ATTR_TO = "To"
ATTR_LANGUAGE = "Language"
IDA_LANGUAGE = "en-GB"
ADDRESS_LINE = "Line"
ADDRESS_POSTCODE = "PostCode"
ADDRESS_INTERNATIONAL_POSTCODE = "InternationalPostCode"
ADDRESS_UPRN = "UPRN"

# Signature algorithms (both bindings) live in federation.xmlsecurity: ALLOWED_SIGNATURE_METHODS.

# Default clock skew allowed on IssueInstant / NotBefore / NotOnOrAfter (seconds)
DEFAULT_CLOCK_SKEW_SECONDS = 30


def q(ns: str, local: str) -> str:
    """Clark notation `{ns}local`, for lxml lookups."""
    return f"{{{ns}}}{local}"
