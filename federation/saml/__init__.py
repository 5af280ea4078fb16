"""The SAML profile: one module per message, each with a builder and a validating parser.

Every app builds and reads its SAML only through this package. Parsers raise `SamlValidationError`
with a short `reason` to log; they read data only from signed elements. The PID derivations live in
`federation.saml.hashed_pid` (not re-exported: the function shares the module's name).
"""

from federation.saml.assertion import (
    Address,
    AssertionData,
    Attribute,
    IdpAssertions,
    MatchingDataset,
    MdsValue,
    build_assertion,
    mds_attributes,
    parse_assertion,
    split_idp_assertions,
)
from federation.saml.attribute_query import AttributeQueryData, build_attribute_query, parse_attribute_query
from federation.saml.authn_request import (
    AuthnRequestData,
    RedirectAuthnRequest,
    build_authn_request,
    parse_authn_request,
    parse_redirect_authn_request,
)
from federation.saml.bindings import decode_post, decode_redirect, encode_post, encode_redirect
from federation.saml.errors import SamlValidationError
from federation.saml.ids import instant, new_id, parse_instant
from federation.saml.response import (
    DecryptedAssertion,
    ReceivedAssertion,
    ResponseData,
    Status,
    build_response,
    decrypt_assertion,
    encrypt_assertion,
    parse_response,
    reencrypt_assertion,
)

__all__ = [
    "Address",
    "AssertionData",
    "Attribute",
    "AttributeQueryData",
    "AuthnRequestData",
    "DecryptedAssertion",
    "IdpAssertions",
    "MatchingDataset",
    "mds_attributes",
    "MdsValue",
    "ReceivedAssertion",
    "RedirectAuthnRequest",
    "ResponseData",
    "SamlValidationError",
    "Status",
    "build_assertion",
    "build_attribute_query",
    "build_authn_request",
    "build_response",
    "decode_post",
    "decode_redirect",
    "decrypt_assertion",
    "encode_post",
    "encode_redirect",
    "encrypt_assertion",
    "instant",
    "new_id",
    "parse_assertion",
    "parse_attribute_query",
    "parse_authn_request",
    "parse_instant",
    "parse_redirect_authn_request",
    "parse_response",
    "reencrypt_assertion",
    "split_idp_assertions",
]
