"""A tiny Flask app wired with register_web that renders the hub's journey templates with sample context."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask, render_template

from federation.web import register_web

REPO = Path(__file__).resolve().parents[3]
HUB_TEMPLATES = REPO / "hub" / "templates"

IDP_ORIGIN = "https://idp.example.test:8443"
RP_ORIGIN = "https://rp.example.test"


@dataclass(frozen=True)
class LocalizedText:
    """Stands in for the config layer's bilingual text (any object with en/cy attributes)."""

    en: str
    cy: str | None = None


RP_NAME = LocalizedText("Apply for a test licence", "Gwneud cais am drwydded prawf")
OTHER_WAYS = {
    "en": "Call the licence helpline on 0300 000 0000.\n\nOr apply by post.",
    "cy": "Ffoniwch linell gymorth y drwydded ar 0300 000 0000.\n\nNeu gwnewch gais drwy'r post.",
}
IDPS = [
    {"entity_id": "https://idp-two.example.test/SAML2", "display_name": {"en": "Stub IDP Two", "cy": "IDP Bonyn Dau"}},
    {"entity_id": 'https://idp-one.example.test/"quoted"', "display_name": LocalizedText("Stub IDP One", "IDP Un")},
]
CYCLE3 = {
    "label": {"en": "National Insurance number", "cy": "Rhif Yswiriant Gwladol"},
    "hint": {"en": "It's on your payslip.", "cy": "Mae ar eich slip cyflog."},
    "example": {"en": "QQ 12 34 56 C", "cy": "QQ 12 34 56 C"},
    "error_missing": {"en": "Enter your National Insurance number", "cy": "Rhowch eich rhif Yswiriant Gwladol"},
    "error_format": {"en": "Enter a valid National Insurance number", "cy": "Rhowch rif Yswiriant Gwladol dilys"},
}

# template -> sample context the hub's views will pass (see the comment at the top of each template)
SAMPLES: dict[str, dict] = {
    "start.html": {"form_action": "/start", "rp_name": RP_NAME, "other_ways": OTHER_WAYS},
    "what_you_need.html": {"continue_url": "/choose-a-company", "back_url": "/start", "rp_name": RP_NAME},
    "about_you.html": {
        "form_action": "/about-you",
        "back_url": "/what-you-need",
        "documents": ("uk_passport", "uk_photocard_licence", "non_uk_passport", "non_uk_identity_card"),
        "phones": ("smartphone", "mobile", "landline"),
        "rp_name": RP_NAME,
        "other_ways": OTHER_WAYS,
    },
    "choose_company.html": {
        "form_action": "/choose-a-company",
        "idps": IDPS,
        "returning": False,
        "back_url": "/what-you-need",
        "rp_name": RP_NAME,
        "other_ways": OTHER_WAYS,
    },
    "redirect_to_idp.html": {
        "action": f"{IDP_ORIGIN}/stub-idp-one/SAML2/SSO",
        "saml_request": "PHNhbWxwOkF1dGhuUmVxdWVzdC8+",
        "relay_state": "hub-relay-1",
        "idp_name": {"en": "Stub IDP One", "cy": "IDP Un"},
        "language_toggle_path": "/choose-a-company",
    },
    "response_to_rp.html": {
        "action": f"{RP_ORIGIN}/SAML2/ACS",
        "saml_response": "PHNhbWxwOlJlc3BvbnNlLz4=",
        "relay_state": "rp-state",
        "rp_name": RP_NAME,
    },
    "cycle3.html": {
        "form_action": "/further-information",
        "cancel_action": "/further-information/cancel",
        "attribute": CYCLE3,
        "rp_name": RP_NAME,
        "other_ways": OTHER_WAYS,
    },
    "error.html": {
        "problem": "authn_failed",
        "idp_name": {"en": "Stub IDP One", "cy": "IDP Un"},
        "rp_name": RP_NAME,
        "next_url": "/choose-a-company",
        "rp_home_url": f"{RP_ORIGIN}/",
        "other_ways": OTHER_WAYS,
    },
    "federation/saml_post.html": {
        "action": "https://hub.example.test/SAML2/SSO",
        "saml_request": "PHNhbWxwOkF1dGhuUmVxdWVzdC8+",
        "destination_name": "GOV.UK Verify hub",
    },
}


def make_app(**register_kwargs) -> Flask:
    app = Flask(__name__, template_folder=str(HUB_TEMPLATES))
    app.config["TESTING"] = True
    kwargs = {
        "service_name": {"en": "Prove your identity", "cy": "Profi pwy ydych chi"},
        "form_action_origins": [f"{IDP_ORIGIN}/stub-idp-one/SAML2/SSO", f"{RP_ORIGIN}/SAML2/ACS"],
    }
    kwargs.update(register_kwargs)
    register_web(app, **kwargs)

    @app.route("/page/<path:template>", methods=["GET", "POST"])
    def page(template: str):
        from flask import request

        context = dict(SAMPLES[template])
        context.update({key: value for key, value in request.args.items() if key != "lang"})
        if "error" in context:  # "1" is a yes/no page's error; a named error ("missing", "format") stays
            context["error"] = (
                context["error"] if context["error"] in ("missing", "format") else context["error"] == "1"
            )
        return render_template(template, **context)

    return app


@pytest.fixture
def samples() -> dict[str, dict]:
    return SAMPLES


@pytest.fixture
def make_web_app():
    return make_app


@pytest.fixture(scope="session")
def app() -> Flask:
    """Shared by tests that do not change the app (compiling the templates once keeps the suite fast)."""
    return make_app()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    children_text: list[str] = field(default_factory=list)


class PageParser(HTMLParser):
    """Collects elements with their attributes and the text directly inside them (enough for checks)."""

    VOID = {"input", "meta", "link", "br", "img", "hr", "path", "circle"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [
            element
            for element in self.elements
            if element.tag == tag and all(element.attrs.get(key) == value for key, value in attrs.items())
        ]


@pytest.fixture
def parse_html():
    def parse(html: str) -> PageParser:
        parser = PageParser()
        parser.feed(html)
        parser.close()
        return parser

    return parse
