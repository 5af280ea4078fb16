"""Helpers for the stub IDP tests: drive one stub IDP like the hub and a browser would, read its answers."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from federation.loa import LevelOfAssurance
from federation.saml import build_authn_request, decode_post, encode_post, parse_response
from federation.xmlsecurity import to_bytes

RELAY_STATE = "hub-relay-123"


@dataclass
class Journey:
    """Drives one stub IDP like the hub and a browser would."""

    client: object
    config: object
    hub_keys: object
    idp_name: str
    request_id: str | None = None

    @property
    def idp(self):
        return next(i for i in self.config.identity_providers if i.name == self.idp_name)

    def authn_request(
        self,
        levels: Sequence[LevelOfAssurance] = (LevelOfAssurance.LEVEL_2,),
        comparison: str = "minimum",
        *,
        now: datetime | None = None,
        credential=None,
        issuer: str | None = None,
        destination: str | None = None,
        request_id: str | None = None,
        sign: bool = True,
    ) -> str:
        element = build_authn_request(
            issuer=issuer or self.config.hub.entity_id,
            destination=destination or self.idp.sso_url,
            credential=credential or self.hub_keys.signing,
            now=now or datetime.now(UTC),
            levels=levels,
            comparison=comparison,
            request_id=request_id,
            sign=sign,
        )
        self.request_id = element.get("ID")
        return encode_post(to_bytes(element))

    def start(self, saml_request: str | None = None, relay_state: str = RELAY_STATE, **kwargs):
        saml_request = saml_request or self.authn_request(**kwargs)
        return self.client.post(
            f"/{self.idp_name}/SAML2/SSO", data={"SAMLRequest": saml_request, "RelayState": relay_state}
        )

    def csrf(self, page: str) -> str:
        return csrf_of(page)

    def login_page(self) -> str:
        response = self.client.get(f"/{self.idp_name}/login")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def login(self, username: str, password: str = "bar", **extra):
        token = csrf_of(self.login_page())
        data = {"csrf_token": token, "username": username, "password": password, **extra}
        return self.client.post(f"/{self.idp_name}/login", data=data)

    def consent_page(self) -> str:
        response = self.client.get(f"/{self.idp_name}/consent")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def consent(self, action: str = "continue"):
        token = csrf_of(self.consent_page())
        return self.client.post(f"/{self.idp_name}/consent", data={"csrf_token": token, "action": action})

    def read(self, page: str, *, in_response_to: str | None = None):
        """Parse the auto-post page's Response exactly as the hub would (signature, decryption, checks)."""
        post = auto_post(page)
        assert post.action == self.config.hub.response_url
        assert post.relay_state == RELAY_STATE
        return parse_response(
            decode_post(post.saml_response),
            certificates_for_issuer=lambda issuer: [c.certificate for c in self.config.entity_certificates(issuer)],
            expected_destination=self.config.hub.response_url,
            expected_in_response_to=in_response_to or self.request_id,
            now=datetime.now(UTC),
            expected_audience=self.config.hub.entity_id,
            decryption_credentials=[self.hub_keys.encryption],
        )


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no CSRF field"
    return html.unescape(match.group(1))


@dataclass(frozen=True)
class AutoPost:
    action: str
    saml_response: str
    relay_state: str | None


def auto_post(page: str) -> AutoPost:
    form = re.search(r'<form method="post" action="([^"]+)" data-federation-auto-submit>(.*?)</form>', page, re.S)
    assert form, "not an auto-post page"
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))
    }
    return AutoPost(html.unescape(form.group(1)), fields["SAMLResponse"], fields.get("RelayState"))
