"""federation.op_counts: nothing at all when off; when on, counts written on SIGUSR1 and at exit."""

from __future__ import annotations

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
