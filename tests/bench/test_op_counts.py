"""federation.op_counts: nothing at all when off; when on, counts written on SIGUSR1 and at exit."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from federation.op_counts import ENV_DIR
from federation.runtime import REPO_DIR


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter (the switch is read at import), argv[1:] = args."""
    environment = {k: v for k, v in os.environ.items() if k != ENV_DIR} | (env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO_DIR, env=environment, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip


def test_off_by_default_no_counting_and_no_signal_handler():
    out = run_python(
        """
        import signal
        from federation import op_counts, xmlsecurity
        xmlsecurity.parse_xml(b"<a/>")
        print(op_counts.ENABLED, op_counts.count is op_counts._noop, signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL)
        print(op_counts.snapshot()["counts"]["xml_parse"], op_counts.dump())
        """
    ).stdout.split()
    assert out == ["False", "True", "True", "0", "None"]


def test_on_counts_are_written_on_sigusr1_and_at_exit(tmp_path: Path):
    code = """
        import json, os, signal, sys
        from pathlib import Path
        from federation import op_counts, xmlsecurity
        xmlsecurity.parse_xml(b"<a/>")
        try:
            xmlsecurity.parse_xml(b"<!DOCTYPE a><a/>")  # refused, but a parse was asked for: counted
        except xmlsecurity.UnsafeXmlError:
            pass
        op_counts.count("sign")
        op_counts.count_render("start.html")
        os.kill(os.getpid(), signal.SIGUSR1)
        path = Path(sys.argv[2]) / f"hub-{os.getpid()}.json"
        print(path.read_text())
        op_counts.count("verify")
        """
    out = run_python(code, "hub", str(tmp_path), env={ENV_DIR: str(tmp_path)})
    on_signal = json.loads(out.stdout)
    assert on_signal["service"] == "hub"
    assert on_signal["dump"] == 1
    assert on_signal["counts"] == {
        "sign": 1, "verify": 0, "encrypt": 0, "decrypt": 0, "xml_parse": 2, "page_render": 1,
    }  # fmt: skip
    assert on_signal["templates"] == {"start.html": 1}
    (written,) = tmp_path.glob("hub-*.json")
    at_exit = json.loads(written.read_text())
    assert at_exit["dump"] == 2
    assert at_exit["counts"]["verify"] == 1
    assert at_exit["pid"] == on_signal["pid"]


# The parsers whose use outside xmlsecurity would be an XML parse the counts miss.
PARSE_CALLS = {"fromstring", "document_fromstring", "fragment_fromstring", "XML", "parse", "iterparse", "XMLParser"}
SERVICE_CODE = ("federation", "hub", "stub_idps", "matching_service", "relying_party_example", "hub_client")
NOT_A_SERVICE = {"federation/xmlsecurity.py", "federation/compliance/http.py"}  # the parser; a command-line tool


def _xml_parse_calls(path: Path) -> list[str]:
    """`etree.fromstring(...)`, `lxml.html.parse(...)`, `ElementTree.XML(...)` and the like in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PARSE_CALLS:
            owner = ast.unparse(node.func.value)
            if any(name in owner for name in ("etree", "lxml", "ElementTree", "html", "minidom", "defusedxml")):
                found.append(f"{path.relative_to(REPO_DIR)}:{node.lineno}: {ast.unparse(node.func)}")
    return found


def test_every_xml_parse_in_the_services_goes_through_the_counted_parser():
    """So the benchmark's xml_parse count is complete: xmlsecurity.parse_xml is the services' only parser."""
    modules = [p for package in SERVICE_CODE for p in sorted((REPO_DIR / package).rglob("*.py"))]
    stray = [
        call
        for path in modules
        if str(path.relative_to(REPO_DIR)) not in NOT_A_SERVICE
        for call in _xml_parse_calls(path)
    ]
    assert not stray, "XML parsed outside federation.xmlsecurity.parse_xml (not counted):\n" + "\n".join(stray)
    assert _xml_parse_calls(REPO_DIR / "federation" / "xmlsecurity.py"), "the checker must see the parser's own call"
