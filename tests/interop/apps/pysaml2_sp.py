"""A department's service written with pysaml2 (`saml2.client.Saml2Client`), for a `standard` service.

It follows docs/saml-profiles.md: pysaml2's SP settings at their defaults except what the profile needs
(`allow_unknown_attributes`, signed Responses and assertions, no unsolicited Responses, RSA-SHA256 for its
own signatures, its encryption key pair; the federation config says `key_transport: rsa-oaep-mgf1p` for
it, since pysaml2 decrypts with Debian's `xmlsec1` 1.2). The hub's entity, keys and URLs come from the
hub's signed federation metadata, loaded by pysaml2 as `remote` metadata with the metadata-signing
certificate pinned (`cert`), which is all the service trusts.

pysaml2 checks a remote document's signature only when the document is signed, and does not check what
the signature covers: the service adds both checks (pysaml2_party.py).
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass

from flask import Flask, abort, redirect, request, session
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.response import StatusError
from saml2.saml import NAMEID_FORMAT_PERSISTENT

from tests.interop.apps.pysaml2_party import Party, load_config

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
NOT_SIGNED_IN = "<!DOCTYPE html><title>Not signed in</title><h1>You have not been signed in</h1>"
HOME = '<!DOCTYPE html><title>Service</title><form method="get" action="/sign-in"><button>Sign in</button></form>'


@dataclass(frozen=True)
class Service:
    """The department's service: its entity and keys as registered in the federation config, and its URL."""

    party: Party
    base_url: str


def sp_config(service: Service) -> SPConfig:
    """pysaml2's SP configuration, with the federation metadata loaded and checked (pysaml2_party)."""
    return load_config(
        SPConfig,
        service.party,
        # The profile's attribute names are not in pysaml2's attribute maps: keep them as sent.
        allow_unknown_attributes=True,
        service={
            "sp": {
                "endpoints": {"assertion_consumer_service": [(f"{service.base_url}/acs", BINDING_HTTP_POST)]},
                "name_id_format": NAMEID_FORMAT_PERSISTENT,
                "authn_requests_signed": True,
                "want_response_signed": True,
                "want_assertions_signed": True,
                "allow_unsolicited": False,
                "signing_algorithm": RSA_SHA256,  # pysaml2 reads these here, inside service.sp, only
                "digest_algorithm": SHA256,
            }
        },
    )


def create_app(service: Service, hub_entity_id: str) -> Flask:
    """The service: /sign-in (?binding=post for the HTTP-POST binding), /acs, /signed-in."""
    app = Flask(__name__)
    logging.getLogger("saml2").setLevel(logging.WARNING)  # it logs NameIDs at INFO, messages at DEBUG
    app.secret_key = secrets.token_bytes(32)
    client = Saml2Client(config=sp_config(service))
    pending: dict[str, str] = {}  # our AuthnRequests not yet answered -> where to go after; each answered once
    answers: dict[str, dict] = {}  # request ID -> what the hub said, until the browser that asked comes for it

    @app.get("/")
    def home():
        return HOME

    @app.get("/sign-in")
    def sign_in():
        binding = BINDING_HTTP_POST if request.args.get("binding") == "post" else BINDING_HTTP_REDIRECT
        request_id, info = client.prepare_for_authenticate(
            entityid=hub_entity_id, relay_state="/", binding=binding, sign=True, sigalg=RSA_SHA256, digest_alg=SHA256
        )
        session["request_id"] = request_id  # in Flask's signed cookie: this browser asked
        pending[request_id] = "/"
        if binding == BINDING_HTTP_REDIRECT:
            return redirect(dict(info["headers"])["Location"])
        return info["data"]  # pysaml2's page that posts the AuthnRequest

    @app.post("/acs")  # the hub's POST comes from another site: the browser sends it without our cookie
    def acs():
        saml_response = request.form.get("SAMLResponse", "")
        try:
            response = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding=pending)
        except StatusError:  # signed, answering a request of ours: cancelled, failed, no match
            answered = samlp.response_from_string(base64.b64decode(saml_response)).in_response_to
            pending.pop(answered, None)  # answered: the same Response again is unsolicited
            return NOT_SIGNED_IN
        except Exception as exc:  # pysaml2 raises many types for a Response it refuses
            app.logger.info("Response refused: %s", type(exc).__name__)
            abort(403)
        if response is None or response.assertion is None:  # e.g. an assertion pysaml2 could not decrypt
            abort(403)
        if pending.pop(response.in_response_to, None) is None:  # answered once
            abort(403)
        answers[response.in_response_to] = {
            "id": response.name_id.text,
            "level": [authn[0] for authn in response.authn_info()],
            "attributes": response.ava,
        }
        return redirect("/signed-in", 303)  # a top-level GET: the browser's cookie comes back

    @app.get("/signed-in")
    def signed_in():
        return answers.pop(session.pop("request_id", ""), None) or abort(403)  # only this browser's answer

    return app
