"""A department's service written with python3-saml (`onelogin.saml2`), for a `standard` service.

It follows docs/integration-guide.md and docs/saml-profiles.md: python3-saml's settings at their defaults
except what the profile requires (strict; signed Responses and assertions; encrypted assertions; signed
AuthnRequests; SHA-1 refused), and the hub's part of the settings read from the hub's signed federation
metadata with python3-saml's metadata API, pinning the federation's metadata-signing certificate only.

python3-saml sends an AuthnRequest with the HTTP-Redirect binding only (`login()`). For the HTTP-POST
binding the app does what python3-saml's maintainers advise (SAML-Toolkits/python3-saml#205): the same
`OneLogin_Saml2_Authn_Request`, unsigned, its XML signed with `OneLogin_Saml2_Utils.add_sign`, posted by an
HTML form.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from flask import Flask, abort, redirect, request, session
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants as Saml2
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


class MetadataRefused(Exception):
    """The federation metadata did not verify: the service keeps what it had, or does not start."""


NOT_SIGNED_IN = "<!DOCTYPE html><title>Not signed in</title><h1>You have not been signed in</h1>"
HOME = '<!DOCTYPE html><title>Service</title><form method="get" action="/sign-in"><button>Sign in</button></form>'


@dataclass(frozen=True)
class Service:
    """The department's own details, as registered in the federation config."""

    entity_id: str
    base_url: str  # where the service is, e.g. https://benefits.example.gov.uk
    certificate_pem: str  # python3-saml's one key pair: signs AuthnRequests, decrypts assertions
    private_key_pem: str
    receives_attributes: bool = True


def hub_from_metadata(metadata_url: str, pinned_certificates_pem: Sequence[str], hub_entity_id: str) -> dict:
    """The hub's part of python3-saml's settings (`idp`), from the signed federation metadata.

    `pinned_certificates_pem`: the federation's metadata-signing certificate, or during a rotation the
    current and the next one (docs/saml-profiles.md); the document must be signed with one of them.

    python3-saml's `OneLogin_Saml2_IdPMetadataParser` reads metadata without checking its signature, so
    the service checks it first with `OneLogin_Saml2_Utils.validate_metadata_sign`, and then two things
    python3-saml does not: that the one signature covers the whole document (its Reference is the root's
    ID, which no other element has: otherwise genuine signed content can be wrapped inside a forged
    document and still verify) and that the document has not expired (`validUntil`)."""
    xml = OneLogin_Saml2_IdPMetadataParser.get_metadata(metadata_url, timeout=10)
    if not any(OneLogin_Saml2_Utils.validate_metadata_sign(xml, cert=pem) for pem in pinned_certificates_pem):
        raise MetadataRefused("the signature does not verify with a pinned metadata-signing certificate")
    root = OneLogin_Saml2_XML.to_etree(xml)
    references = OneLogin_Saml2_XML.query(root, "/md:EntitiesDescriptor/ds:Signature/ds:SignedInfo/ds:Reference")
    root_id = root.get("ID")
    if not root_id or [ref.get("URI") for ref in references] != [f"#{root_id}"] or len(root.xpath("//*[@ID]")) != 1:
        raise MetadataRefused("the signature does not cover the whole document")
    valid_until = root.get("validUntil")
    if not valid_until or OneLogin_Saml2_Utils.parse_SAML_to_time(valid_until) <= datetime.now(UTC).timestamp():
        raise MetadataRefused("the metadata has expired")
    return OneLogin_Saml2_IdPMetadataParser.parse(xml, entity_id=hub_entity_id)


def saml_settings(service: Service, hub: dict) -> dict:
    """python3-saml's settings: its defaults, and what the profile requires (docs/saml-profiles.md)."""
    settings = {
        "strict": True,
        "sp": {
            "entityId": service.entity_id,
            "assertionConsumerService": {"url": f"{service.base_url}/acs"},
            "NameIDFormat": PERSISTENT,
            "x509cert": service.certificate_pem,
            "privateKey": service.private_key_pem,
        },
        "security": {
            "authnRequestsSigned": True,
            "wantMessagesSigned": True,
            "wantAssertionsSigned": True,
            "wantAssertionsEncrypted": True,
            "wantAttributeStatement": service.receives_attributes,
            "rejectDeprecatedAlgorithm": True,
        },
    }
    return OneLogin_Saml2_IdPMetadataParser.merge_settings(settings, hub)


def create_app(service: Service, hub: dict) -> Flask:
    """The service: /sign-in (?binding=post for the HTTP-POST binding), /acs, /signed-in."""
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    app.config["SAML"] = saml_settings(service, hub)
    pending: dict[str, bool] = {}  # our AuthnRequests not yet answered: each is answered once
    answers: dict[str, dict] = {}  # request ID -> what the hub said, until the browser that asked comes for it

    def saml() -> OneLogin_Saml2_Auth:
        page = {"https": "off", "http_host": request.host, "script_name": request.path, "post_data": request.form}
        return OneLogin_Saml2_Auth(page, app.config["SAML"])

    def post_binding() -> tuple[str, str]:
        """(request ID, the page that posts our signed AuthnRequest to the hub)."""
        settings = OneLogin_Saml2_Settings(app.config["SAML"])
        authn_request = OneLogin_Saml2_Authn_Request(settings)
        signed = OneLogin_Saml2_Utils.add_sign(
            authn_request.get_xml(),
            service.private_key_pem,
            service.certificate_pem,
            sign_algorithm=Saml2.RSA_SHA256,
            digest_algorithm=Saml2.SHA256,
        )
        action = escape(settings.get_idp_sso_url())
        field = escape(base64.b64encode(signed).decode())
        page = (
            f'<!DOCTYPE html><title>Continue</title><form method="post" action="{action}">'
            f'<input type="hidden" name="SAMLRequest" value="{field}"><button>Continue</button></form>'
        )
        return authn_request.get_id(), page

    @app.get("/")
    def home():
        return HOME

    @app.get("/sign-in")
    def sign_in():
        if request.args.get("binding") == "post":
            request_id, page = post_binding()
            response = page
        else:
            auth = saml()
            response = redirect(auth.login(return_to="/"))  # signed, HTTP-Redirect binding
            request_id = auth.get_last_request_id()
        session["request_id"] = request_id  # in Flask's signed cookie: this browser asked
        pending[request_id] = True
        return response

    def answered_without_identity(auth: OneLogin_Saml2_Auth) -> bool:
        """Whether a Response python3-saml refused says cancelled, failed or no match, to a pending request.

        python3-saml reads the status first and reports any status but Success as an error without
        checking the signature: such a Response signs nobody in. It answers our request (unverified), so
        the same Response again is refused."""
        try:
            response = OneLogin_Saml2_XML.to_etree(auth.get_last_response_xml())
            status = OneLogin_Saml2_Utils.get_status(response).get("code")
        except Exception:  # no Status at all: not an answer
            return False
        return status not in (None, Saml2.STATUS_SUCCESS) and pending.pop(response.get("InResponseTo"), False)

    @app.post("/acs")  # the hub's POST comes from another site: the browser sends it without our cookie
    def acs():
        auth = saml()
        try:
            auth.process_response()  # signatures, decryption, Destination, Recipient, Audience, time, status
        except Exception:  # no SAMLResponse, or not a SAML message at all
            abort(403)
        if auth.get_errors():
            return NOT_SIGNED_IN if answered_without_identity(auth) else abort(403)
        request_id = auth.get_last_response_in_response_to()
        if not pending.pop(request_id, False):  # a request of ours, answered once
            abort(403)
        answers[request_id] = {
            "id": auth.get_nameid(),
            "level": auth.get_last_authn_contexts(),
            "attributes": auth.get_attributes(),
        }
        return redirect("/signed-in", 303)  # a top-level GET: the browser's cookie comes back

    @app.get("/signed-in")
    def signed_in():
        return answers.pop(session.pop("request_id", ""), None) or abort(403)  # only this browser's answer

    return app
