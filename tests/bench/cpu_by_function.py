"""Where a service's CPU goes per journey, by area and by function, in ms per journey: what is left to cut.

From a cProfile profile (`make profile`, federation.profiling, timed with each thread's CPU clock): each
function's own time is counted once (not its callees'), so the areas add up to the whole, and a C function
(libxmlsec1's verify, lxml's parser, AES-GCM) is a function of its own. cProfile adds a cost to every call
it times, so Python code that makes many small calls (Flask, Jinja, our views) reads two to three times its
real cost beside C code that does much work per call: read the ranking within Python, and take a service's
CPU per journey from `make bench` (from /proc) and the split between C libraries and Python from a sampling
profiler such as `perf` (docs/performance.md says how).
"""

from __future__ import annotations

import pstats
from collections.abc import Mapping

# (area, what a function's label contains); the first that matches wins
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("XML security: sign, verify, encrypt, decrypt, parse (libxmlsec1, lxml)", ("xmlsecurity.py", "xmlsec.", "lxml")),
    ("SAML messages read and built", ("federation/saml/", "hub_client/")),
    ("other cryptography (AES-GCM, RSA, hashes)", ("cryptography", "_hashlib", "hmac.py", "hashlib", "_rust")),
    ("JSON", ("json/", "_json")),
    ("the store (sessions, entries, Redis client)", ("hub/store/", "redis/", "hiredis")),
    ("pages (Jinja, MarkupSafe, templates)", ("jinja2/", "markupsafe/", "<template>", "templates/", "web/environment")),
    ("Flask and Werkzeug", ("flask/", "werkzeug/")),
    ("HTTP client (back channel)", ("urllib3/", "requests/", "http/client", "socket.py", "ssl.py")),
    ("logging and audit", ("logging/", "logging_setup.py", "hub/audit.py")),
    ("metrics", ("prometheus_client/", "federation/observability.py")),
    ("the server and middlewares", ("granian/", "wsgi_environ.py", "proxy_headers.py", "run_slots.py")),
    ("views, journey and policy", ("hub/", "matching_service/", "relying_party_example/", "stub_idps/")),
    ("shared web layer and the rest of ours", ("federation/",)),
)
OTHER = "Python's own library and built-ins"
_CALLED_FROM = ", called from "
_DEPTH = 3  # levels of Python's own code climbed to find whose work it was


def area_of(label: str) -> str:
    if _CALLED_FROM in label:  # Python's own code, counted for the area that called it
        return label.rsplit(_CALLED_FROM, 1)[1]
    for area, marks in AREAS:
        if any(mark in label for mark in marks):
            return area
    return OTHER


def from_pstats(stats: pstats.Stats) -> dict[str, float]:
    """Own seconds per function of a cProfile profile. The time of Python's own code (built-ins such as
    isinstance, the standard library) is split among the areas that called it, as the profile's callers say
    (through up to a few levels of Python's own code), so that each area counts what it made Python do."""
    table = stats.stats  # type: ignore[attr-defined]
    costs: dict[str, float] = {}
    for key, (_, _, own, _, _) in table.items():
        name = _label(key)
        shares = {OTHER: 1.0} if area_of(name) != OTHER else _calling_areas(table, key, _DEPTH)
        for area, share in shares.items():
            label = name if area == OTHER else f"{name}{_CALLED_FROM}{area}"
            costs[label] = costs.get(label, 0.0) + own * share
    return costs


def _label(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    return name if filename == "~" else f"{name} ({_short(filename)}:{line})"


def _calling_areas(table: Mapping, key: tuple[str, int, str], depth: int) -> dict[str, float]:
    """The areas that called `key`, each with its share of `key`'s own time."""
    callers = table[key][4]
    total = sum(row[2] for row in callers.values())
    if not callers or total <= 0 or depth == 0:
        return {OTHER: 1.0}
    shares: dict[str, float] = {}
    for caller, row in callers.items():
        weight = row[2] / total
        area = area_of(_label(caller))
        found = {area: 1.0} if area != OTHER or caller not in table else _calling_areas(table, caller, depth - 1)
        for where, share in found.items():
            shares[where] = shares.get(where, 0.0) + weight * share
    return shares


def _short(filename: str) -> str:
    for root in ("site-packages/", "/lib/python3.11/", "/lib/python3/"):
        if root in filename:
            return filename.split(root, 1)[1]
    return filename


def by_area(costs: Mapping[str, float]) -> dict[str, float]:
    """Seconds per area, largest first."""
    totals: dict[str, float] = {}
    for label, seconds in costs.items():
        area = area_of(label)
        totals[area] = totals.get(area, 0.0) + seconds
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def table(costs: Mapping[str, float], journeys: int, *, top: int = 30) -> str:
    """Areas, then the `top` functions, in ms per journey as profiled and as a share of the profiled whole."""
    total = sum(costs.values())
    if journeys < 1 or total <= 0:
        return "Nothing was profiled.\n"

    def row(spent: float, what: str) -> str:
        return f"  {1000 * spent / journeys:7.2f} {100 * spent / total:5.1f}%  {what}"

    lines = ["Where the CPU goes, by area (ms per journey as profiled, cProfile's own cost included; share):"]
    lines += [row(spent, area) for area, spent in by_area(costs).items()]
    lines += [row(total, "all"), "", f"The {top} functions with the most own time:"]
    ranked = sorted(costs.items(), key=lambda item: -item[1])[:top]
    lines += [row(spent, f"{label}  [{area_of(label)}]") for label, spent in ranked]
    return "\n".join(lines) + "\n"
