"""Deliberately broken parties for the compliance tool's tests: an identity provider and a service that get
things wrong in known ways, served over real HTTP on a free port.

The broken IDP accepts every AuthnRequest (even unsigned or an hour old), answers a success whose matching
dataset assertion has a date of birth without its xsi:type, and answers every other scenario with a
cancel. The broken service starts sign-ins with a genuine AuthnRequest (signed with test-rp's key unless
told otherwise) but its ACS accepts every Response without verifying anything.
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime

from flask import Flask, redirect, request

from federation import xmlsecurity
from federation.saml import Status, build_authn_request, encode_post, encode_redirect
from federation.saml import constants as c
from federation.saml.constants import SAML_NS, XSI_NS, q
from tests.hostile.forge import Forge, assemble_response, fresh_pid, idp_assertions, resign


def _post_page(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items()
    )
    return f'<!DOCTYPE html><form method="post" action="{html.escape(action)}">{inputs}<button>Go</button></form>'


def broken_idp_app(forge: Forge, idp_name: str = "stub-idp-two") -> Flask:
    app = Flask("broken_idp")

    @app.post(f"/{idp_name}/SAML2/SSO")
    def sso():
        return "Welcome: please sign in"  # 200 whatever came in: nothing is checked

    @app.post(f"/{idp_name}/SAML2/SSO/headless")
    def headless():
        hub_request = xmlsecurity.parse_xml(base64.b64decode(request.form["SAMLRequest"]))
        request_id = hub_request.get("ID")
        if request.form.get("outcome") == "success":
            authn, mds = idp_assertions(forge, idp_name=idp_name, in_response_to=request_id, pid=fresh_pid())
            dob = mds.xpath(
                "saml:AttributeStatement/saml:Attribute[@Name=$n]/saml:AttributeValue",
                namespaces={"saml": SAML_NS},
                n=c.MDS_DATEOFBIRTH,
            )[0]
            del dob.attrib[q(XSI_NS, "type")]
            resign(mds, forge.credential(idp_name))
            assertions = [authn, mds]
            status = Status(c.STATUS_SUCCESS)
        else:
            assertions = []
            status = Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, detail=c.STATUS_DETAIL_AUTHN_CANCEL)
        response = assemble_response(
            forge,
            idp_name=idp_name,
            in_response_to=request_id,
            assertions=assertions,
            credential=forge.credential(idp_name),
            status=status,
        )
        fields = {"SAMLResponse": encode_post(xmlsecurity.to_bytes(response)), "RelayState": request.form["RelayState"]}
        return _post_page(forge.hub_response_url, fields)

    return app


def broken_service_app(
    forge: Forge, rp_name: str = "test-rp", signing_key: str | None = None, *, redirect_binding: bool = False
) -> Flask:
    """`signing_key`: sign the AuthnRequest with another entity's key (one the config does not list for it);
    `redirect_binding`: send it with the HTTP-Redirect binding (a 302 with a signed query string)."""
    app = Flask("broken_service")
    rp_entity_id = forge.rp_entity_id(rp_name)

    @app.get("/")
    def home():
        return '<!DOCTYPE html><form method="post" action="/start"><button>Start</button></form>'

    @app.post("/start")
    def start():
        credential = forge.credential(signing_key or rp_name)
        authn_request = build_authn_request(
            issuer=rp_entity_id,
            destination=forge.hub_sso_url,
            credential=credential,
            now=datetime.now(UTC),
            sign=not redirect_binding,
        )
        if redirect_binding:
            xml = xmlsecurity.to_bytes(authn_request)
            return redirect(encode_redirect(forge.hub_sso_url, xml, credential=credential, relay_state="r-1"), 302)
        fields = {"SAMLRequest": encode_post(xmlsecurity.to_bytes(authn_request)), "RelayState": "r-1"}
        return _post_page(forge.hub_sso_url, fields)

    @app.post("/SAML2/SSO/POST")
    def acs():
        return redirect("/signed-in", 303)  # nothing verified: every Response "signs the citizen in"

    @app.get("/signed-in")
    def signed_in():
        return "You are signed in"

    return app
