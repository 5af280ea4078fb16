"""Benchmark of the XML security core: signed/verified/encrypted/decrypted SAML assertions per second.

Run with `make bench`. Prints medians of several rounds, and the rate of the approach we rejected
(a `xmlsec1` process per signature, as pysaml2's default backend does) for comparison.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from federation import xmlsecurity as xs
from federation.credentials import load_decryption_credential, load_signing_credential
from tests.support.self_signed import write_self_signed

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
ATTRIBUTES = "".join(
    f'<saml:Attribute Name="MDS_attr{i}"><saml:AttributeValue>value {i}</saml:AttributeValue></saml:Attribute>'
    for i in range(8)
)
ASSERTION = (
    f'<saml:Assertion xmlns:saml="{SAML}" ID="_bench" Version="2.0" IssueInstant="2026-11-22T10:00:00Z">'
    f"<saml:Issuer>https://idp.test</saml:Issuer><saml:Subject><saml:NameID>pid</saml:NameID></saml:Subject>"
    f"<saml:AttributeStatement>{ATTRIBUTES}</saml:AttributeStatement></saml:Assertion>"
).encode()


def rate(fn, n: int, rounds: int = 5) -> float:
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        results.append(n / (time.perf_counter() - start))
    return statistics.median(results)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        key, cert = write_self_signed(d, "bench")
        signing = load_signing_credential(key, cert)
        decryption = load_decryption_credential(key, cert)
        signed = xs.to_bytes(xs.sign(xs.parse_xml(ASSERTION), signing))
        encrypted = xs.to_bytes(xs.encrypt(signed, decryption.certificate))

        figures = {
            "sign (parse + sign + serialise)": rate(
                lambda: xs.to_bytes(xs.sign(xs.parse_xml(ASSERTION), signing)), 200
            ),
            "verify (parse + verify)": rate(lambda: xs.verify(xs.parse_xml(signed), [signing.certificate]), 400),
            "encrypt (AES-256-GCM + RSA-OAEP)": rate(lambda: xs.encrypt(signed, decryption.certificate), 400),
            "decrypt (parse + decrypt)": rate(lambda: xs.decrypt(xs.parse_xml(encrypted), [decryption]), 200),
        }
        if shutil.which("xmlsec1"):
            template = d / "t.xml"
            unsigned = xs.parse_xml(ASSERTION)
            xs.sign(unsigned, signing)  # reuse our template shape, xmlsec1 recomputes the values
            template.write_bytes(xs.to_bytes(unsigned))

            def subprocess_sign() -> None:
                subprocess.run(
                    ["xmlsec1", "--sign", "--privkey-pem", str(key), "--id-attr:ID", f"{SAML}:Assertion",
                     "--output", str(d / "o.xml"), str(template)],
                    check=True, capture_output=True,
                )  # fmt: skip

            figures["sign, one xmlsec1 process each (rejected)"] = rate(subprocess_sign, 20, rounds=3)
    width = max(map(len, figures))
    print("XML security core, operations per second on one core (median of rounds):")
    for name, value in figures.items():
        print(f"  {name:<{width}}  {value:8.0f}/s")
    if "sign, one xmlsec1 process each (rejected)" in figures:
        ratio = figures["sign (parse + sign + serialise)"] / figures["sign, one xmlsec1 process each (rejected)"]
        print(f"  in-process signing is {ratio:.0f}x the process-per-signature rate")


if __name__ == "__main__":
    main()
