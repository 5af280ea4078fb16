"""Run one of the services under waitress: `python -m federation.serve hub --port 8080`.

`local_matcher` is the matching service's local matcher as a process of its own on a listener of its own
(127.0.0.1:8084 or the department's internal network, never a public interface), for a matching service
whose `local_matching_url` is a URL; with `builtin:` the matching service runs it in process instead.

A configuration mistake stops the process before it serves anything, with the message that names the
file, entity and field (exit status 2), instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from federation.config import ConfigError
from federation.credentials import CredentialError
from federation.runtime import load_runtime

SERVICES = {
    "hub": "hub.app",
    "hub_operator": "hub.operator_app",
    "stub_idps": "stub_idps.app",
    "matching_service": "matching_service.app",
    "local_matcher": "matching_service.local_matcher_app",
    "relying_party_example": "relying_party_example.app",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m federation.serve", description=__doc__)
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {args.service} %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    try:
        runtime = load_runtime()
        app = importlib.import_module(SERVICES[args.service]).create_app(runtime)
    except (ConfigError, CredentialError, ValueError) as exc:
        print(f"{args.service}: refusing to start: {exc}", file=sys.stderr)
        return 2
    from waitress import serve

    logging.getLogger(__name__).info("%s listening on http://%s:%d", args.service, args.host, args.port)
    # Behind a reverse proxy or load balancer, name it in TRUSTED_PROXY (its address) so the client address
    # (rate limits) and the scheme (Secure cookies, HSTS) come from its X-Forwarded-* headers; otherwise
    # those headers are dropped, so a client cannot spoof them.
    proxy = {}
    if runtime.setting("TRUSTED_PROXY"):
        proxy = {
            "trusted_proxy": runtime.setting("TRUSTED_PROXY"),
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
        }
    serve(
        app, host=args.host, port=args.port, threads=args.threads, ident=None,
        clear_untrusted_proxy_headers=True, **proxy,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
