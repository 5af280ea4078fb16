"""Soak: no journey is lost when processes die under load.

Real processes: two hub processes behind haproxy (Debian's, `make test-packages`) sharing the machine's
Redis under this module's key prefix, the matching service with its replay cache in the same Redis, the
local matcher, the stub IDPs and the example service. Eight citizens walk real journeys through the
balancer for `SOAK_SECONDS` while a hub process is SIGKILLed and restarted every `KILL_EVERY` seconds
(the two in turn) and the matching service is killed and restarted once.

A citizen does what a person at a browser does: follows the page in front of them (the journey's next
step, or the way on that an error page offers in its <main>), and after a server error (5xx) reloads or
posts the same form again once, as after pressing back and submitting. The test asserts that every journey
either ends signed in at the service with that citizen's PID, or ends on a page with a way on (at the
service, or a hub page that ends the journey with a 4xx and offers a way on, e.g. a session lost with a
process); that no
citizen ever gets a 5xx twice in a row; and prints the counts.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from federation.launcher import ORDER, Federation, free_port, start_federation
from matching_service.cli import main as matching_service_cli
from tests.e2e.journey import IDP_THREE, IDP_TWO, expected_hashed_pid
from tests.faults.faults_support import SHARED_REDIS_URL, shared_hub_env, wait_for
from tests.support.browser_client import BrowserClient, Page
from tests.support.federation_under_test import RECORDS, fresh_local_matching_token

pytestmark = pytest.mark.e2e

ENDED_AT_HUB = "ended at the hub on a page with a way on"
ENDED_WELL = ("signed in", "ended at the service with a way on", ENDED_AT_HUB)
# a 4xx that asks the citizen to take the step again (in progress, too many requests): not the journey's end
STEP_AGAIN = (409, 429)

SOAK_SECONDS = 70.0
KILL_EVERY = 15.0
FIRST_KILL_AT = 8.0
MATCHING_SERVICE_KILL_AT = 32.0
CITIZENS = 8
MAX_STEPS = 40  # pages in one journey before it counts as stuck
RELOAD_PAUSE = 1.0  # a person's pause before reloading after a server error

# (stub IDP, its display name, username, cycle 3 answer if the service asks for one)
PEOPLE = (
    ("stub-idp-two", IDP_TWO, "alice", None),
    ("stub-idp-three", IDP_THREE, "tom", None),
    ("stub-idp-two", IDP_TWO, "peter", "JW 12 34 56 C"),  # found only by the number he types (cycle 3)
)


# --- the balancer -----------------------------------------------------------------------------------------


class Balancer:
    """haproxy on a free port in front of the hub processes: health checks every 500 ms, and a request whose
    connection is refused (a killed process) sent to the other server at once."""

    def __init__(self, directory: Path, servers: dict[str, int], port: int) -> None:
        self.port = port
        self.config = directory / "haproxy.cfg"
        lines = [
            "global",
            "  maxconn 512",
            "defaults",
            "  mode http",
            "  timeout connect 1s",
            "  timeout client 60s",
            "  timeout server 60s",
            "  retries 3",
            "  option redispatch 1",
            "frontend hub",
            f"  bind 127.0.0.1:{self.port}",
            "  default_backend hubs",
            "backend hubs",
            "  balance roundrobin",
            "  option httpchk GET /healthcheck",
            "  timeout check 3s",  # a loaded machine answers slowly; a dead process refuses at once
            "  default-server inter 500ms fall 2 rise 1",
            *(f"  server {name} 127.0.0.1:{port} check" for name, port in servers.items()),
        ]
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None
        self.log = directory / "haproxy.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(["haproxy", "-db", "-f", str(self.config)], stdout=log, stderr=log)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


# --- the citizens -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the citizens saw, counted under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # each journey's wall time

    def count(self, what: str, problem: str | None = None) -> None:
        with self.lock:
            self.counts[what] += 1
            if problem:
                self.problems.append(problem)


class Citizen(BrowserClient):
    """A browser and its person. A connection broken under a request is sent again (as browsers do). After
    a server error (5xx), the person takes the way on the page offers, or reloads (posts the same form
    again) once if it offers none (a balancer's bare error). Two 5xx answers in a row are counted."""

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally
        self.in_a_row = 0  # 5xx answers since the last other answer
        self.twice = False
        self._handled: Page | None = None  # a cross-site POST follows its redirect with get(): handled there

    def _send(self, send: Callable[[], Page]) -> Page:
        try:
            return send()
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            self.tally.count("connections broken, sent again")
            return send()

    def _seen(self, page: Page) -> Page:
        if page.status < 500:
            self.in_a_row = 0
            return page
        self.in_a_row += 1
        self.tally.count("5xx answers")
        if self.in_a_row >= 2:
            self.twice = True
            self.tally.count("5xx twice in a row", f"{page.status} twice: {page.url} {page.heading!r}")
        return page

    def _answer(self, send: Callable[[], Page]) -> Page:
        page = self._send(send)
        if page is self._handled:  # the redirect's GET, already seen (and reloaded if need be)
            return page
        page = self._seen(page)
        if page.status >= 500 and not self.twice and _way_on(page) is None:
            time.sleep(RELOAD_PAUSE)  # the browser shows the failed request's URL: that is what is reloaded
            page = self._seen(self._send(send))
        self._handled = page
        return page

    def get(self, url: str) -> Page:
        return self._answer(lambda: super(Citizen, self).get(url))

    def post(self, url: str, data: dict, *, from_url: str | None = None) -> Page:
        return self._answer(lambda: super(Citizen, self).post(url, data, from_url=from_url))


def _main(page: Page):
    found = page.doc.xpath("//main")
    return found[0] if found else page.doc


def _way_on(page: Page):
    """The first link or button in <main> a citizen could take: ("form", form) or ("link", href)."""
    main = _main(page)
    for form in main.xpath(".//form[.//button]"):
        return "form", form
    for link in main.xpath(".//a[@href]"):
        href = link.get("href") or ""
        if href and not href.startswith(("#", "mailto:", "tel:")):
            return "link", href
    return None


def walk(citizen: Citizen, federation: Federation, person: tuple) -> str:
    """One journey from the service's page to its end; the outcome's name."""
    idp_name, display, username, cycle3 = person
    rp, idp = federation.urls["RP_URL"], federation.urls["IDP_URL"]
    page = citizen.get(rp + "/")
    page = citizen.submit(page, page.form(button="Prove your identity"))
    for _ in range(MAX_STEPS):
        if citizen.twice:
            return "5xx twice in a row"
        url = page.url
        if url.startswith(rp):
            if "signed in" in page.text.lower():
                if expected_hashed_pid(idp_name, username) in page.text:
                    return "signed in"
                return "signed in as someone else"
            auto = [f for f in page.forms() if f.get("data-federation-auto-submit") is not None]
            if auto:  # the service's request on its way to the hub
                page = citizen.auto_submit(page)
                continue
            return "ended at the service with a way on" if _way_on(page) else "ended at the service, stuck"
        if page.forms() and any(f.get("data-federation-auto-submit") is not None for f in page.forms()):
            form = page.form(auto=True)
            if (form.get("action") or "").startswith(idp):  # to the company: sign in there at once
                page = citizen.auto_submit(
                    page, action_suffix="/headless", extra={"username": username, "outcome": "success"}
                )
            else:
                page = citizen.auto_submit(page)
            continue
        if url.endswith("/start") and page.status == 200:
            page = citizen.submit(page, page.form(), {"verified_before": "yes"})
        elif url.endswith("/what-you-need") and page.status == 200:
            page = citizen.get(page.link("Continue"))
        elif url.endswith("/about-you") and page.status == 200:
            page = citizen.submit(page, page.form())
        elif "choose-a-certified-company" in url and page.status == 200 and page.doc.xpath("//form//button"):
            page = citizen.submit(page, page.form(button=f"Choose {display}"))
        elif page.doc.xpath("//button[@id='release-agree']"):
            page = citizen.submit(page, page.form(button="Agree and continue"), {"release": "agree"})
        elif "/cycle3" in url and cycle3 and page.status == 200:
            page = citizen.submit(page, page.form(button="Continue"), {"cycle3_value": cycle3})
        else:  # any other page: take the way on it offers, as a person would
            way = _way_on(page)
            if way is None:
                return f"stuck on a page without a way on: {page.status} {url} {page.heading!r}"
            if 400 <= page.status < 500 and page.status not in STEP_AGAIN:
                # the journey ended here (e.g. its session was lost with a process): the page says what to do
                # next and offers the way on; a person would go back to the service, not tour the hub's pages
                return ENDED_AT_HUB
            citizen.tally.count(f"ways on taken from a {page.status} page: {page.heading}")
            kind, target = way
            page = citizen.submit(page, target) if kind == "form" else citizen.get(citizen_url(page, target))
    return f"stuck after {MAX_STEPS} pages at {page.url}"


def citizen_url(page: Page, href: str) -> str:
    return urljoin(page.url, href)


def citizen_loop(number: int, federation: Federation, tally: Tally, deadline: float) -> None:
    person = PEOPLE[number % len(PEOPLE)]
    while time.monotonic() < deadline:
        citizen = Citizen(tally)  # a fresh browser per journey, as a new citizen would have
        began = time.monotonic()
        try:
            outcome = walk(citizen, federation, person)
        except Exception as exc:  # noqa: BLE001 - counted and reported: the assertion names it
            outcome = f"client error {type(exc).__name__}: {exc}"
        finally:
            citizen.http.close()
        tally.count("journeys")
        with tally.lock:
            tally.seconds.append(time.monotonic() - began)
        tally.count(outcome, None if outcome in ENDED_WELL else outcome)


# --- the faults -------------------------------------------------------------------------------------------


def restart(federation: Federation, name: str, hub_ports: dict[str, int], tally: Tally) -> None:
    """Start a killed process again on its port, waiting as long as a loaded machine needs."""
    if name == "hub-2":
        federation.start_extra("hub", name=name, port=hub_ports[name], wait=False)
    else:
        federation.start(name, wait=False)
    try:
        federation.wait_healthy(name, timeout=90)
    except RuntimeError as exc:
        tally.count("restarts failed", f"{name}: {exc}")


def chaos(federation: Federation, hub_ports: dict[str, int], tally: Tally, deadline: float) -> None:
    """SIGKILL a hub process every KILL_EVERY seconds (in turn) and restart it; the matching service once."""
    started = time.monotonic()
    names, turn = list(hub_ports), 0
    ms_killed = False
    next_kill = started + FIRST_KILL_AT
    while time.monotonic() < deadline - 3:
        now = time.monotonic()
        if not ms_killed and now - started >= MATCHING_SERVICE_KILL_AT:
            federation.kill("matching_service")
            tally.count("matching service killed")
            time.sleep(0.5)
            restart(federation, "matching_service", hub_ports, tally)
            ms_killed = True
        if now >= next_kill:
            name = names[turn % len(names)]
            turn += 1
            federation.kill(name)
            tally.count("hub processes killed")
            time.sleep(0.3)
            restart(federation, name, hub_ports, tally)
            next_kill = now + KILL_EVERY  # or at once, if the restart took longer (a loaded machine)
        time.sleep(0.1)


# --- the test ---------------------------------------------------------------------------------------------


@contextmanager
def _federation(var_dir: Path, keys_dir: Path, ports: dict[str, int], env: dict[str, str]) -> Iterator[Federation]:
    """The federation on the ports given (the balancer in front of the hub is configured before it starts:
    the other parties load the hub's metadata through it), stopped afterwards."""
    var_dir.mkdir()
    matching_service_cli(["import", RECORDS, "--database", str(var_dir / "matching-service.sqlite3")])
    env = {"STUB_IDP_HEADLESS": "1", **fresh_local_matching_token(), **env}
    running = start_federation(ports=ports, keys_dir=keys_dir, var_dir=var_dir, extra_env=env)
    try:
        yield running
    finally:
        running.stop_all()


@contextmanager
def _patiently(start: Callable[[int], AbstractContextManager[Federation]], tries: int = 3) -> Iterator[Federation]:
    """The federation, started again if a process was too slow to start on a loaded machine."""
    for attempt in range(1, tries + 1):
        manager = start(attempt)
        try:
            running = manager.__enter__()
        except RuntimeError:
            if attempt == tries:
                raise
            continue
        try:
            yield running
        finally:
            manager.__exit__(None, None, None)
        return


@pytest.fixture(scope="module")
def soak_federation(shared_redis_prefix, keys_dir, tmp_path_factory) -> Iterator[tuple[Federation, Balancer]]:
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (make test-packages installs it)")
    directory = tmp_path_factory.mktemp("soak")
    ports = {name: free_port() for name in ORDER}
    hub_2_port, balancer_port = free_port(), free_port()
    env = {
        "REDIS_URL": SHARED_REDIS_URL,
        "HUB_REDIS_PREFIX": shared_redis_prefix + "hub:",
        "MATCHING_SERVICE_REDIS_URL": SHARED_REDIS_URL,
        "MATCHING_SERVICE_REDIS_PREFIX": shared_redis_prefix + "ms:",
        "HUB_URL": f"http://127.0.0.1:{balancer_port}",  # every party reaches the hub through the balancer
        "HUB_RATE_LIMIT_PER_MINUTE": "0",  # eight citizens on one address (the balancer's): not an attack
        **shared_hub_env(),
    }
    balancer = Balancer(directory, {"hub": ports["hub"], "hub-2": hub_2_port}, balancer_port)
    balancer.start()
    try:
        with _patiently(lambda n: _federation(directory / f"try-{n}", keys_dir, ports, env)) as running:
            running.start_extra("hub", name="hub-2", port=hub_2_port, wait=False)
            running.wait_healthy("hub-2", timeout=120)
            yield running, balancer
    finally:
        balancer.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def test_no_journey_is_lost_when_processes_die(soak_federation):
    federation, balancer = soak_federation
    assert wait_for(lambda: _answers(f"http://127.0.0.1:{balancer.port}/healthcheck"), timeout=15), (
        balancer.log.read_text()[-2000:]
    )
    tally = Tally()
    hub_ports = {"hub": federation.ports["hub"], "hub-2": federation.extras["hub-2"][1]}
    started = time.monotonic()
    deadline = started + SOAK_SECONDS
    citizens = [
        threading.Thread(target=citizen_loop, args=(n, federation, tally, deadline), name=f"citizen-{n}")
        for n in range(CITIZENS)
    ]
    faults = threading.Thread(target=chaos, args=(federation, hub_ports, tally, deadline), name="chaos")
    for thread in (*citizens, faults):
        thread.start()
    for thread in (*citizens, faults):
        thread.join(timeout=SOAK_SECONDS + 180)
    elapsed = time.monotonic() - started

    counts = tally.counts
    print(f"\nsoak: {elapsed:.0f} s, {CITIZENS} citizens, through haproxy to two hub processes")
    for what, n in sorted(counts.items()):
        print(f"  {what}: {n}")
    if tally.seconds:
        took = sorted(tally.seconds)
        print(f"  journey seconds: median {statistics.median(took):.1f}, max {took[-1]:.1f}")
    assert not any(t.is_alive() for t in (*citizens, faults)), "a citizen or the fault thread never finished"
    # a restart can take 20 s on a loaded machine: the kills come as often as the restarts allow
    assert counts["hub processes killed"] >= 2 and counts["matching service killed"] == 1, tally.problems
    assert counts["restarts failed"] == 0, tally.problems
    assert counts["5xx twice in a row"] == 0, tally.problems
    ended_well = sum(counts[outcome] for outcome in ENDED_WELL)
    assert ended_well == counts["journeys"], tally.problems[:20]
    assert counts["signed in"] >= CITIZENS, "most journeys must complete, not only end with a way on"
