"""`federation check-idp` says what the hub says: the same broken IDP Response, judged by the compliance tool
and posted to the real hub, is refused for the same reason (and, where the hub logs it, the same detail)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from federation import xmlsecurity
from federation.compliance.hub_role import load_hub_role
from federation.compliance.idp_check import ANSWERS, Collected, judge
from federation.compliance.report import Verdict
from federation.saml import constants as c
from federation.saml.constants import SAML_NS, XSI_NS, q
from tests.hostile.forge import (
    ForgedResponse,
    await_idp_response,
    forge_idp_response,
    fresh_pid,
    idp_assertions,
    post_to_hub_acs,
    resign,
    sha1_signature,
    sign_with,
)

pytestmark = pytest.mark.hostile

SUCCESS = next(s for s in ANSWERS if s.name == "success")


def _dob_without_type(forged: ForgedResponse):
    value = forged.mds.xpath(
        "saml:AttributeStatement/saml:Attribute[@Name=$n]/saml:AttributeValue",
        namespaces={"saml": SAML_NS},
        n=c.MDS_DATEOFBIRTH,
    )[0]
    del value.attrib[q(XSI_NS, "type")]
    resign(forged.mds, forged.response_credential)
    return forged.reassemble()


def _wrong_destination(forged: ForgedResponse):
    forged.response.set("Destination", "https://elsewhere.example/acs")
    return resign(forged.response, forged.response_credential)


def _wrong_audience(forged: ForgedResponse):
    audience = forged.authn.find(
        f"{q(SAML_NS, 'Conditions')}/{q(SAML_NS, 'AudienceRestriction')}/{q(SAML_NS, 'Audience')}"
    )
    audience.text = "https://test-rp.federation.test"
    resign(forged.authn, forged.response_credential)
    return forged.reassemble()


def _three_assertions(forged: ForgedResponse):
    extra = idp_assertions(
        forged.forge, idp_name=forged.idp_name, in_response_to=forged.in_response_to, pid=fresh_pid()
    )[1]
    forged.extra_assertions.append(extra)
    return forged.reassemble()


BREAKAGES = {
    "date-of-birth-without-xsi-type": _dob_without_type,
    "wrong-destination": _wrong_destination,
    "wrong-audience": _wrong_audience,
    "rsa-sha1-signature": lambda forged: sign_with(
        forged.response, forged.response_credential, signature_method=sha1_signature(forged.response_credential)
    ),
    "three-assertions": _three_assertions,
}


def _hub_said(logged: str) -> str:
    return re.findall(r"idp response refused: (.+)", logged)[-1].strip()


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_the_tool_reports_the_refusal_the_hub_logs(forge, federation, keys_dir, hub_log, breakage):
    awaiting = await_idp_response(federation)
    response = BREAKAGES[breakage](forge_idp_response(forge, awaiting))
    role = load_hub_role({**federation.urls, "FEDERATION_KEYS_DIR": str(keys_dir)})
    idp = role.identity_provider(awaiting.idp_name)
    row = judge(role, idp, SUCCESS, Collected(awaiting.id, xmlsecurity.to_bytes(response), datetime.now(UTC)))
    assert row.verdict is Verdict.FAIL and row.happened.startswith("refused: ")
    refusal = row.happened.removeprefix("refused: ")
    watch = hub_log()
    page = post_to_hub_acs(forge, awaiting, response)
    assert page.status == 400
    hub = _hub_said(watch.wait_for("idp response refused"))
    assert hub.split(":", 1)[0] == refusal.split(":", 1)[0], (hub, refusal)
    if ":" in hub:  # the hub logs the detail as well: word for word what the tool reported
        assert hub == refusal, (hub, refusal)


def test_a_fraud_answer_without_its_attributes(forge, federation, keys_dir, hub_log):
    awaiting = await_idp_response(federation)
    response = forge_idp_response(forge, awaiting, fraud=True).response
    role = load_hub_role({**federation.urls, "FEDERATION_KEYS_DIR": str(keys_dir)})
    fraud = next(s for s in ANSWERS if s.name.startswith("fraud"))
    row = judge(
        role,
        role.identity_provider(awaiting.idp_name),
        fraud,
        Collected(awaiting.id, xmlsecurity.to_bytes(response), datetime.now(UTC)),
    )
    assert row.happened == (
        "refused: fraud-response-without-fraud-attributes:FECI_IDPFraudEventID and FECI_GPG45Status"
        " (a levelX assertion carries both, one text value each)"
    )
    watch = hub_log()
    post_to_hub_acs(forge, awaiting, response)
    assert _hub_said(watch.wait_for("idp response refused")).startswith("fraud-response-without-fraud-attributes")
