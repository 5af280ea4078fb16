"""The generated parts of docs/idp-profile.md, made by the code that does the work, so the profile stays true.

    python -m tests.support.idp_profile_doc --check   exit 1 and say which block drifted (what the test runs)
    python -m tests.support.idp_profile_doc --write   rewrite the generated blocks of docs/idp-profile.md

Each block sits between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->`. The samples are real
messages: the hub's AuthnRequest from `build_authn_request` (as the hub builds it), a stub IDP's success and
fraud Responses from `stub_idps.responses`, decrypted with the hub's key (the decrypted view an IDP's
developer compares with); the tables come from the profile's constants, the hub's reading of each answer
(`federation.saml.idp_response`) and the compliance tool's fixes. IDs, signature values, digests and
certificates are shown as placeholders, so the blocks do not depend on the keys or the moment.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from federation import xmlsecurity
from federation.compliance.idp_fixes import FIXES
from federation.config import FederationConfig, load_federation_config
from federation.credentials import load_entity_credentials
from federation.demo import DEMO_CONFIG
from federation.loa import LevelOfAssurance
from federation.runtime import DEFAULT_KEYS_DIR, REPO_DIR
from federation.saml import build_authn_request, decrypt_assertion
from federation.saml import constants as c
from federation.saml.idp_response import HubEnd, parse_idp_response, read_idp_answer
from stub_idps.responses import FAILURE_STATUS, HubEndpoint, IdpSigner, Outcome, build_idp_response
from stub_idps.users import load_users

DOC = REPO_DIR / "docs" / "idp-profile.md"
SAMPLE_IDP = "stub-idp-two"
SAMPLE_USER = "alice"
SAMPLE_MOMENT = datetime(2024, 6, 11, 9, 30, tzinfo=UTC)
SAMPLE_REQUEST_ID = "_0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"  # the hub's AuthnRequest ID in every sample
SAMPLE_IP = "203.0.113.7"
ELIDED = "..."


# --- samples ---------------------------------------------------------------------------------------------------


class _Sample:
    """The demo federation (its default localhost URLs) and the keys that sign and decrypt the samples."""

    def __init__(self, keys_dir: Path) -> None:
        self.config: FederationConfig = load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables={})
        self.idp = next(idp for idp in self.config.identity_providers if idp.name == SAMPLE_IDP)
        self.hub_keys = load_entity_credentials(keys_dir, "hub")
        signing = load_entity_credentials(keys_dir, SAMPLE_IDP).signing
        self.signer = IdpSigner(self.idp.name, self.idp.entity_id, signing)
        self.hub = HubEndpoint(
            self.config.hub.entity_id, self.config.hub.response_url, self.hub_keys.encryption.certificate
        )
        self.user = next(u for u in load_users() if u.username == SAMPLE_USER)

    def response(self, outcome: Outcome) -> bytes:
        return build_idp_response(
            outcome=outcome,
            idp=self.signer,
            hub=self.hub,
            in_response_to=SAMPLE_REQUEST_ID,
            now=SAMPLE_MOMENT,
            user=self.user,
            level=LevelOfAssurance.LEVEL_2,
            ip_address=SAMPLE_IP,
        )

    def decrypted_view(self, outcome: Outcome) -> etree._Element:
        """The Response with each EncryptedAssertion replaced by the assertion inside it."""
        root = xmlsecurity.parse_xml(self.response(outcome))
        for encrypted in root.findall(c.q(c.SAML_NS, "EncryptedAssertion")):
            assertion = decrypt_assertion(encrypted, [self.hub_keys.encryption]).element
            encrypted.addprevious(assertion)
            root.remove(encrypted)
        return root

    def answer_kind(self, outcome: Outcome) -> str:
        """What the hub makes of a stub's answer: its own reading, at the sample's moment."""
        response = parse_idp_response(
            xmlsecurity.parse_xml(self.response(outcome)),
            idp_entity_id=self.idp.entity_id,
            idp_certificates=[cert.certificate for cert in self.idp.signing_certificates],
            is_another_idp=lambda issuer: False,
            hub=HubEnd(self.config.hub.entity_id, self.config.hub.response_url),
            request_id=SAMPLE_REQUEST_ID,
            decryption=[self.hub_keys.encryption],
            now=SAMPLE_MOMENT,
            clock_skew=self.config.clock_skew,
        )
        return read_idp_answer(response).kind.value


def _placeholders(root: etree._Element) -> etree._Element:
    """Stable IDs (`_response-1`, `_assertion-1`, ...) and elided signature values and certificates."""
    names: dict[str, str] = {}
    for element in root.iter():
        element_id = element.get("ID")
        if element_id and element_id not in names and element_id != SAMPLE_REQUEST_ID:
            kind = "response" if etree.QName(element).localname == "Response" else "assertion"
            names[element_id] = f"_{kind}-{sum(v.startswith(f'_{kind}') for v in names.values()) + 1}"
            element.set("ID", names[element_id])
    for element in root.iter():
        uri = element.get("URI")
        if uri and uri.startswith("#") and uri[1:] in names:
            element.set("URI", "#" + names[uri[1:]])
        if etree.QName(element).localname in ("SignatureValue", "DigestValue", "X509Certificate"):
            element.text = ELIDED
        if (element.text or "").startswith(f"{SAMPLE_IDP}-fraud-"):
            element.text = f"{SAMPLE_IDP}-fraud-{ELIDED}"
    return root


def _xml(root: etree._Element) -> str:
    etree.indent(root, space="  ")
    return "```xml\n" + etree.tostring(root, encoding="unicode") + "\n```"


def hub_authn_request(sample: _Sample) -> str:
    element = build_authn_request(
        issuer=sample.config.hub.entity_id,
        destination=sample.idp.sso_url,
        credential=sample.signer.credential,  # any key: the signature value is elided
        now=SAMPLE_MOMENT,
        levels=(LevelOfAssurance.LEVEL_2,),
        comparison=sample.idp.authn_context_comparison,
        request_id=SAMPLE_REQUEST_ID,
    )
    return _xml(_placeholders(element))


def success_response(sample: _Sample) -> str:
    return _xml(_placeholders(sample.decrypted_view(Outcome.SUCCESS)))


def cancel_response(sample: _Sample) -> str:
    return _xml(_placeholders(xmlsecurity.parse_xml(sample.response(Outcome.CANCEL))))


def fraud_authn_assertion(sample: _Sample) -> str:
    view = _placeholders(sample.decrypted_view(Outcome.FRAUD_DF01))
    assertion = copy.deepcopy(view.findall(c.q(c.SAML_NS, "Assertion"))[0])
    etree.cleanup_namespaces(assertion)
    return _xml(assertion)


# --- tables ------------------------------------------------------------------------------------------------------


def _short(uri: str | None) -> str:
    return f"`{uri.rsplit(':', 1)[-1]}`" if uri else "-"


def status_table(sample: _Sample) -> str:
    rows = [
        "| answer | StatusCode | second-level StatusCode | StatusDetail (`ida:StatusValue`) | the hub reads it as |",
        "|---|---|---|---|---|",
        f"| success | `Success` | - | - | `{sample.answer_kind(Outcome.SUCCESS)}` |",
    ]
    for outcome, status in FAILURE_STATUS.items():
        rows.append(
            f"| {outcome.value} | {_short(status.code)} | {_short(status.sub_code)} | "
            f"{f'`{status.detail}`' if status.detail else '-'} | `{sample.answer_kind(outcome)}` |"
        )
    rows.append(f"| fraud | `Success` (a levelX assertion) | - | - | `{sample.answer_kind(Outcome.FRAUD_DF01)}` |")
    return "\n".join(rows)


def mds_table(_sample: _Sample) -> str:
    many = {c.MDS_FIRSTNAME, c.MDS_MIDDLENAME, c.MDS_SURNAME, c.MDS_PREVIOUSADDRESS}
    rows = ["| Name | FriendlyName | xsi:type of every value | values |", "|---|---|---|---|"]
    for name, value_type in c.MDS_VALUE_TYPES.items():
        rows.append(
            f"| `{name}` | {c.FRIENDLY_NAMES[name]} | `ida:{value_type}` | {'one or more' if name in many else 'one'} |"
        )
    return "\n".join(rows)


def algorithm_list(_sample: _Sample) -> str:
    def listed(uris) -> str:
        return ", ".join(f"`{uri}`" for uri in sorted(uris))

    return "\n".join(
        [
            f"- Signature methods (XML signatures and the Redirect binding's SigAlg): "
            f"{listed(xmlsecurity.ALLOWED_SIGNATURE_METHODS)}",
            f"- Digest methods: {listed(xmlsecurity.ALLOWED_DIGEST_METHODS)}",
            f"- Canonicalisation: `{xmlsecurity.EXC_C14N}`; transforms: `{xmlsecurity.ENVELOPED}` then "
            f"`{xmlsecurity.EXC_C14N}`",
            f"- Content encryption: {listed(xmlsecurity.CONTENT_ALGORITHMS)}",
            f"- Key transport: {listed(xmlsecurity.KEY_TRANSPORT_ALGORITHMS)} (OAEP digest "
            f"{listed(xmlsecurity.OAEP_DIGESTS)}; MGF {listed(xmlsecurity.MGF_DIGESTS)} for `rsa-oaep`)",
        ]
    )


def fixes_table(_sample: _Sample) -> str:
    rows = ["| reason | what to do |", "|---|---|"]
    rows += [f"| `{reason}` | {fix} |" for reason, fix in sorted(FIXES.items())]
    return "\n".join(rows)


BLOCKS: dict[str, Callable[[_Sample], str]] = {
    "hub-authn-request": hub_authn_request,
    "status-table": status_table,
    "cancel-response": cancel_response,
    "mds-table": mds_table,
    "algorithms": algorithm_list,
    "success-response": success_response,
    "fraud-authn-assertion": fraud_authn_assertion,
    "refusal-fixes": fixes_table,
}


# --- the document ----------------------------------------------------------------------------------------------


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated: {re.escape(name)} -->\n)(.*?)(<!-- end generated: {re.escape(name)} -->)", re.S
    )


def render(text: str, keys_dir: Path) -> str:
    """`text` with every generated block made anew."""
    sample = _Sample(keys_dir)
    for name, make in BLOCKS.items():
        pattern = _pattern(name)
        if not pattern.search(text):
            raise ValueError(f"{DOC.name} has no generated block {name!r}")
        content = make(sample) + "\n"
        text = pattern.sub(lambda match, content=content: match.group(1) + content + match.group(3), text)
    return text


def drifted(text: str, keys_dir: Path) -> list[str]:
    """The names of the blocks whose text is not what the code makes today."""
    fresh = render(text, keys_dir)
    return [name for name in BLOCKS if _pattern(name).search(text).group(2) != _pattern(name).search(fresh).group(2)]  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.idp_profile_doc", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if a generated block drifted (the default)")
    mode.add_argument("--write", action="store_true", help="rewrite the generated blocks")
    parser.add_argument("--keys-dir", type=Path, default=DEFAULT_KEYS_DIR)
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    if args.write:
        args.doc.write_text(render(text, args.keys_dir), encoding="utf-8")
        return 0
    stale = drifted(text, args.keys_dir)
    if stale:
        print(
            f"{args.doc}: generated blocks out of date: {', '.join(stale)};"
            " run python -m tests.support.idp_profile_doc --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
