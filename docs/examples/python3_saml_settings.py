"""python3-saml's settings for a service in the hub's `standard` profile (docs/integration-guide.md).

Strict: the hub's Response and its assertion must be signed, the assertion encrypted for us; our own
AuthnRequests are signed; SHA-1 is refused. python3-saml has one key pair for the service: it signs the
AuthnRequests and decrypts the assertions, so the federation config lists its certificate both as the
service's signing certificate and as its encryption certificate.
"""

from __future__ import annotations

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def saml_settings(
    *,
    entity_id: str,
    acs_url: str,
    certificate_pem: str,
    private_key_pem: str,
    hub_entity_id: str,
    hub_sso_url: str,
    hub_certificate_pem: str,
    receives_attributes: bool = True,
) -> dict:
    """The service (`entity_id`, `acs_url`, its key pair) and the hub, as the hub's signed federation
    metadata describes it: its entity ID, its SSO URL and its signing certificate."""
    return {
        "strict": True,
        "sp": {
            "entityId": entity_id,
            "assertionConsumerService": {"url": acs_url},  # the HTTP-POST binding
            "NameIDFormat": PERSISTENT,
            "x509cert": certificate_pem,
            "privateKey": private_key_pem,
        },
        "idp": {
            "entityId": hub_entity_id,
            "singleSignOnService": {"url": hub_sso_url},
            "x509cert": hub_certificate_pem,
        },
        "security": {
            "authnRequestsSigned": True,
            "wantMessagesSigned": True,
            "wantAssertionsSigned": True,
            "wantAssertionsEncrypted": True,
            "wantNameId": True,
            "wantAttributeStatement": receives_attributes,  # false when the config lists no `attributes`
            "rejectDeprecatedAlgorithm": True,
            "signatureAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "digestAlgorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
        },
    }
