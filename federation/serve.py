"""Run one of the services under granian: `python -m federation.serve hub --port 8080 [--workers N --threads M]`.

`local_matcher` is the matching service's local matcher as a process of its own on a listener of its own
(127.0.0.1:8084 or the department's internal network, never a public interface), for a matching service
whose `local_matching_url` is a URL; with `builtin:` the matching service runs it in process instead.

granian (WSGI mode) was chosen by measurement over waitress and gunicorn's gthread workers: the least CPU
per request and the lowest p99 at 16 concurrent clients (figures in docs/operations.md). Its HTTP layer is
Rust; our app runs on `--threads` Python threads in each of `--workers` processes (forked by a small
supervisor process; a worker dies with the supervisor), of which `--slots` run it at once: the others wait
their turn, and one that waits on another party frees its slot meanwhile (federation/run_slots.py).
Several workers need the state they share in a shared store: the hub refuses to start with more than one
worker unless REDIS_URL or REDIS_SENTINELS is set.

A configuration mistake stops the process before it serves anything, with the message that names the
file, entity and field (exit status 2), instead of a traceback. Each worker builds its app after the fork
(an app's background threads, such as the metadata refresh, would not survive a fork); a worker that finds
a mistake reports it to the supervisor, which prints it and exits 2.

Every option also has a setting (SERVE_HOST, SERVE_PORT, SERVE_WORKERS, ...), so a deployment keeps them in
one environment file per service (deploy/env/, read by the systemd units). SIGHUP reloads gracefully:
the supervisor first loads the federation config again and, if it has a mistake, logs it and keeps the
running workers; otherwise granian starts a new worker, gives it SERVE_RELOAD_DELAY seconds to build its
app, then stops the old one, which finishes the requests it has (up to SERVE_GRACEFUL_TIMEOUT) while the
new one accepts from the same socket, one worker at a time (tests/deploy/test_graceful_reload.py).

X-Forwarded-For/-Proto/-Host are believed from TRUSTED_PROXY only, and dropped otherwise
(federation/proxy_headers.py); chunked bodies reach the apps with a length and the process environment is
kept out of the request's (federation/wsgi_environ.py). A response whose body is in memory is handed to
granian as a list, which it sends in one call (federation/listed_response.py), and Flask's cookie session
keeps its serializer between requests (federation/cookie_sessions.py); `request.cookies` is read from the
one Cookie header without a walk over the environ (federation/request_cookies.py).
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from federation.config import ConfigError
from federation.cookie_sessions import steady_sessions
from federation.credentials import CredentialError
from federation.listed_response import hand_over_lists
from federation.logging_setup import configure_logging, lean_log_records
from federation.observability import install, watch_metadata_refreshes
from federation.proxy_headers import TrustedProxyHeaders
from federation.request_cookies import read_cookies_directly
from federation.run_slots import RunSlotGate, RunSlots, use
from federation.runtime import Runtime, load_runtime
from federation.wsgi_environ import ServerNeutralEnviron

SERVICES = {
    "hub": "hub.app",
    "hub_operator": "hub.operator_app",
    "stub_idps": "stub_idps.app",
    "matching_service": "matching_service.app",
    "local_matcher": "matching_service.local_matcher_app",
    "relying_party_example": "relying_party_example.app",
}
# reached only by another service of the federation, which sends its request ID (X-Request-ID) along
BACK_CHANNEL = frozenset({"matching_service", "local_matcher"})

STARTUP_ERRORS = (ConfigError, CredentialError, ValueError)
REFUSED = 2
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies

log = logging.getLogger(__name__)


def build_app(service: str, runtime: Runtime | None = None, *, slots: int | None = None) -> Any:
    """The service's WSGI app behind the forwarding-header filter and the environ clean-up; with `slots`, at
    most that many of its requests run at once (federation.run_slots)."""
    runtime = runtime or load_runtime()
    # before the app exists: its first metadata load runs in the background from create_app, and its
    # "loaded" line must already be counted (a line logged before the watcher is never seen again)
    watch_metadata_refreshes(service)
    app = importlib.import_module(SERVICES[service]).create_app(runtime)
    install(app, service, trust_request_id=service in BACK_CHANNEL or bool(runtime.setting("TRUSTED_PROXY")))
    hand_over_lists(app)  # a body already in memory reaches granian in one call (federation.listed_response)
    steady_sessions(app)  # Flask's cookie session without a new serializer per request (federation.cookie_sessions)
    read_cookies_directly(app)  # request.cookies without a walk over the environ (federation.request_cookies)
    wsgi_app: Any = app
    if slots is not None:
        run_slots = RunSlots(slots, service)
        use(run_slots)  # the back-channel clients give the slot back while they wait
        wsgi_app = RunSlotGate(app, run_slots)
    return ServerNeutralEnviron(TrustedProxyHeaders(wsgi_app, runtime.setting("TRUSTED_PROXY")))


def check_workers(service: str, workers: int, runtime: Runtime) -> None:
    """Several hub processes share sessions and replay caches only through Redis."""
    if service == "hub" and workers > 1 and not (runtime.setting("REDIS_URL") or runtime.setting("REDIS_SENTINELS")):
        raise ValueError(
            f"--workers {workers}: several hub processes need a shared store; set REDIS_URL or REDIS_SENTINELS"
        )


def _die_with_parent(supervisor: int) -> None:
    """A worker must not outlive its supervisor (e.g. killed with SIGKILL), still holding the port."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the supervisor's own shutdown still stops its workers
        pass
    if os.getppid() != supervisor:  # the supervisor died before we got here
        os._exit(1)


def checked_reload(service: str, workers: int, reload: Callable[..., None]) -> Callable[..., None]:
    """SIGHUP handler: reload only a config that loads, so a mistake keeps the running workers serving."""

    def handler(*args: Any) -> None:
        try:
            check_workers(service, workers, load_runtime())
        except STARTUP_ERRORS as exc:
            log.error("%s: reload refused, the running workers go on: %s", service, exc)
            return
        log.info("%s: reloading: new workers start, then the old ones finish their requests and stop", service)
        reload(*args)

    return handler


def worker_loader(service: str, supervisor: int, refusal_pipe: int, slots: int | None) -> Any:
    """Runs in each worker after the fork: its own app (and its own background threads)."""
    _die_with_parent(supervisor)
    try:
        return build_app(service, slots=slots)
    except STARTUP_ERRORS as exc:
        os.write(refusal_pipe, f"{service}: refusing to start: {exc}\n".encode()[:4000])
        os._exit(REFUSED)


def _setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, each option defaulting to its SERVE_* setting (deploy/env/<service>.env)."""
    parser = argparse.ArgumentParser(prog="python -m federation.serve", description=__doc__)
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument("--host", default=_setting("SERVE_HOST", "127.0.0.1"), help="listen address (SERVE_HOST)")
    parser.add_argument(
        "--port", type=int, default=os.environ.get("SERVE_PORT") or None, required=not os.environ.get("SERVE_PORT"),
        help="listen port (SERVE_PORT)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=_setting("SERVE_WORKERS", "1"),
        help="worker processes (default: SERVE_WORKERS or 1)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, default=_setting("SERVE_THREADS", "16"),
        help="Python threads per worker running the app (default: SERVE_THREADS or 16)",
    )  # fmt: skip
    parser.add_argument(
        "--graceful-timeout", type=int, default=_setting("SERVE_GRACEFUL_TIMEOUT", "30"),
        help="seconds a stopping worker may finish its requests before it is killed (SERVE_GRACEFUL_TIMEOUT, 30)",
    )  # fmt: skip
    parser.add_argument(
        "--reload-delay", type=float, default=_setting("SERVE_RELOAD_DELAY", "5"),
        help="on SIGHUP, seconds a new worker gets to start before the old one stops (SERVE_RELOAD_DELAY, 5)",
    )  # fmt: skip
    parser.add_argument(
        "--header-timeout", type=int, default=_setting("SERVE_HEADER_TIMEOUT", "30"),
        help="seconds a client may take to send a request's headers (SERVE_HEADER_TIMEOUT, 30)",
    )  # fmt: skip
    parser.add_argument(
        "--backlog", type=int, default=_setting("SERVE_BACKLOG", "1024"),
        help="connections queued for the workers (SERVE_BACKLOG, 1024)",
    )  # fmt: skip
    parser.add_argument(
        "--slots", type=int, default=_setting("SERVE_SLOTS", "4"),
        help="requests per worker that run at once, the others queued; a request waiting on another party"
        " frees its slot (SERVE_SLOTS, 4; at least --threads: no queue)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.workers < 1 or args.threads < 1 or args.slots < 1:
        parser.error("--workers, --threads and --slots must be at least 1")
    if min(args.graceful_timeout, args.header_timeout) < 1 or args.reload_delay < 0:
        parser.error("--graceful-timeout and --header-timeout must be at least 1, --reload-delay not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        configure_logging(args.service, os.environ)  # LOG_FORMAT=json or text (federation.logging_setup)
        lean_log_records()
        check_workers(args.service, args.workers, load_runtime())
    except STARTUP_ERRORS as exc:
        print(f"{args.service}: refusing to start: {exc}", file=sys.stderr)
        return REFUSED

    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    server = Server(
        f"federation.serve:{args.service}", address=args.host, port=args.port, interface=Interfaces.WSGI,
        workers=args.workers, blocking_threads=args.threads, log_access=False, backlog=args.backlog,
        workers_kill_timeout=args.graceful_timeout, respawn_interval=args.reload_delay,
        http1_settings=HTTP1Settings(header_read_timeout=args.header_timeout * 1000),
    )  # fmt: skip
    # granian's supervisor installs this on SIGHUP when it starts: check the config before it respawns workers
    server.signal_handler_reload = checked_reload(args.service, args.workers, server.signal_handler_reload)
    log.info(
        "%s listening on http://%s:%d (%d x %d threads)", args.service, args.host, args.port, args.workers, args.threads
    )
    status, supervisor = 0, os.getpid()
    slots = args.slots if args.slots < args.threads else None  # as many slots as threads: nothing to queue
    try:
        server.serve(target_loader=lambda _target: worker_loader(args.service, supervisor, write_end, slots))
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    try:
        refusal = os.read(read_end, 65536).decode(errors="replace")
    except BlockingIOError:
        refusal = ""
    if refusal:
        sys.stderr.write(refusal.splitlines()[0] + "\n")
        return REFUSED
    return status


if __name__ == "__main__":
    sys.exit(main())
