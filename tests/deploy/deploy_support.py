"""What the deployment tests share: a test CA and a TLS certificate, nginx run from the shipped template,
a port of our range, and an HTTP client that connects from a loopback address of its choosing."""

from __future__ import annotations

import getpass
import ipaddress
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID
from requests.adapters import HTTPAdapter

from federation.runtime import REPO_DIR
from keys.pki import cert_to_pem, key_to_pem, load_key, make_self_signed, name, new_key

DEPLOY_DIR = REPO_DIR / "deploy"
NGINX_TEMPLATE = DEPLOY_DIR / "nginx" / "hub.conf"
PORT_RANGE = range(9300, 9400)  # the ports this work may listen on
PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def port_in_range(taken: set[int] | None = None) -> int:
    """A free port of PORT_RANGE (skipping `taken`)."""
    for port in PORT_RANGE:
        if taken and port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            if taken is not None:
                taken.add(port)
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


# --- TLS --------------------------------------------------------------------------------------------------


def write_test_tls(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A test CA and a server certificate it issued for `host` (an IP address) and localhost:
    (ca.crt, server.crt, server.key). The client trusts ca.crt only."""
    ca_key_pem, ca_cert_pem = make_self_signed("Deployment test CA", is_ca=True)
    ca_key = load_key(ca_key_pem)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    key = new_key()
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(host))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    paths[0].write_bytes(ca_cert_pem)
    paths[1].write_bytes(cert_to_pem(cert))
    paths[2].write_bytes(key_to_pem(key))
    paths[2].chmod(0o600)
    return paths


# --- nginx ------------------------------------------------------------------------------------------------


def render_template(template: Path, values: Mapping[str, str]) -> str:
    """The template with each @NAME@ replaced, as the guide's sed command does; every one must be given."""
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    comments_dropped = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    left = sorted(set(PLACEHOLDER.findall(comments_dropped)))
    if left:
        raise ValueError(f"{template}: no value for {', '.join(left)}")
    return text


class Nginx:
    """Debian's nginx, unprivileged paths in `directory`, with the shipped hub.conf inside its http block
    (where Debian's nginx.conf includes sites-enabled/)."""

    def __init__(self, directory: Path, values: Mapping[str, str]) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "hub.conf").write_text(render_template(NGINX_TEMPLATE, {"LOG_DIR": str(directory), **values}))
        temp = directory / "temp"
        temp.mkdir(exist_ok=True)
        paths = "\n".join(
            f"    {kind}_temp_path {temp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.config = directory / "nginx.conf"
        self.config.write_text(
            f"user {getpass.getuser()};\n"  # ignored unless root; as root, workers may then read the test's files
            "worker_processes 1;\n"
            "daemon off;\n"
            f"pid {directory / 'nginx.pid'};\n"
            f"error_log {directory / 'error.log'} warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n"
            "    default_type application/octet-stream;\n"
            f"{paths}\n"
            f"    include {directory / 'hub.conf'};\n"
            "}\n"
        )
        self.process: subprocess.Popen | None = None

    def _command(self, *extra: str) -> list[str]:
        error_log = str(self.directory / "error.log")
        return ["nginx", "-p", str(self.directory), "-c", str(self.config), "-e", error_log, *extra]

    def check(self) -> subprocess.CompletedProcess:
        """`nginx -t`: the rendered configuration is valid."""
        return subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)

    def start(self, port: int) -> None:
        self.process = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {port}: {self.error_log()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # nginx's fast shutdown
            self.process.wait(timeout=15)

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def access_log(self) -> str:
        path = self.directory / "hub.access.log"
        return path.read_text(errors="replace") if path.exists() else ""


def nginx_missing() -> str | None:
    """Why the nginx tests cannot run here, or None."""
    if shutil.which("nginx") is None:
        return "nginx is not installed (make test-packages installs Debian's nginx)"
    return None


# --- a client with an address of its own -----------------------------------------------------------------


class SourceAddressAdapter(HTTPAdapter):
    """Connections from a loopback address of our choosing (any 127.x.y.z is this host on Linux), so that
    the address the hub believes can be told apart from nginx's own 127.0.0.1."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(source: str, *prefixes: str) -> requests.Session:
    """A requests session whose requests to URLs under `prefixes` come from `source`."""
    session = requests.Session()
    for prefix in prefixes:
        session.mount(prefix, SourceAddressAdapter(source))
    return session
