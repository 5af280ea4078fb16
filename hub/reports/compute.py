"""The service managers' reports, computed from audit events and feedback ratings: plain Python, no web.

Every report is a `Table` of counts per day (UTC) and per service and/or company: facts about journeys,
never about a citizen (the audit events hold no personal data, and the one-way session reference is used
only to join a journey's events, never shown).

Stages of a journey (the completion funnel), each counted for the journeys that reached at least it:

    started               the service sent the citizen to the hub
    company_chosen        the citizen chose a certified company
    company_answered      the company sent its answer back (proved, failed, cancelled, pending, fraud...)
    identity_proved       the company proved the citizen's identity
    matched               the service's matching service found or created the record (or the service
                          needs no matching and the journey succeeded)
    returned_to_service   the service was sent a successful answer
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from hub.reports.events import AuditEvent, Feedback

STAGES: tuple[str, ...] = (
    "started",
    "company_chosen",
    "company_answered",
    "identity_proved",
    "matched",
    "returned_to_service",
)
STAGE_HEADINGS = {
    "started": "Started",
    "company_chosen": "Company chosen",
    "company_answered": "Company answered",
    "identity_proved": "Identity proved",
    "matched": "Matched",
    "returned_to_service": "Returned to service",
}
COMPANY_ANSWERS = frozenset(
    {
        "idp_authn_succeeded",
        "idp_authn_failed",
        "no_authn_context",
        "idp_authn_pending",
        "fraud_detected",
        "requester_error",
    }
)
MATCHES = frozenset({"cycle01_match", "cycle3_match", "user_account_created"})
MATCHING_EVENTS = MATCHES | {"cycle01_no_match", "cycle3_no_match", "user_account_creation_failed"}
# The feedback form's answers, best first (federation.web.service_pages.RATINGS; not imported: no Flask here)
RATINGS: tuple[str, ...] = ("very-satisfied", "satisfied", "neither", "dissatisfied", "very-dissatisfied")
KINDS: tuple[str, ...] = ("stages", "companies", "matching", "satisfaction", "billing", "fraud")


@dataclass(frozen=True)
class Table:
    """One report: a title, what it means, its columns (key, heading) and rows of values."""

    kind: str
    title: str
    description: str
    columns: tuple[tuple[str, str], ...]
    rows: list[tuple] = field(default_factory=list)

    @property
    def headings(self) -> list[str]:
        return [heading for _key, heading in self.columns]


@dataclass(frozen=True)
class Period:
    """The days reported on, both included; None leaves that end open."""

    start: date | None = None
    end: date | None = None

    def holds(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else ""


@dataclass
class _Journey:
    day: date
    rp: str = ""
    company: str = ""
    reached: int = 0  # index into STAGES
    matching_asked: bool = False
    proved: bool = False
    returned_success: bool = False


def _journeys(events: Iterable[AuditEvent]) -> dict[str, _Journey]:
    """Each journey's day (of its first event), service, last company chosen and furthest stage."""
    journeys: dict[str, _Journey] = {}
    for event in events:
        journey = journeys.get(event.session_ref)
        if journey is None:
            journey = journeys[event.session_ref] = _Journey(day=event.day)
        journey.rp = journey.rp or event.rp
        stage = 0
        if event.event == "idp_selected":
            journey.company, stage = event.idp, 1
        elif event.event in COMPANY_ANSWERS:
            journey.company = event.idp or journey.company
            stage = 2
            if event.event == "idp_authn_succeeded":
                journey.proved, stage = True, 3
        elif event.event in MATCHES:
            stage = 4
        elif event.event == "returned_to_service" and event.extra.get("status") == "SUCCESS":
            journey.returned_success = True
            stage = 5 if (journey.proved and not journey.matching_asked) or journey.reached >= 4 else 0
        if event.event in MATCHING_EVENTS:
            journey.matching_asked = True
        journey.reached = max(journey.reached, stage)
    return journeys


def stages(events: Sequence[AuditEvent], period: Period = Period()) -> Table:
    """Journeys per day, service and company reaching each stage, and the share of started that returned."""
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(STAGES))
    for journey in _journeys(events).values():
        if not period.holds(journey.day):
            continue
        row = counts[(journey.day.isoformat(), journey.rp, journey.company)]
        for index in range(journey.reached + 1):
            row[index] += 1
    rows = [(*key, *values, _rate(values[-1], values[0])) for key, values in sorted(counts.items())]
    columns = (
        ("day", "Day"),
        ("service", "Service"),
        ("company", "Company (last chosen)"),
        *((stage, STAGE_HEADINGS[stage]) for stage in STAGES),
        ("completion_percent", "Completion %"),
    )
    return Table(
        "stages",
        "Journeys and where they stop",
        "Journeys started per day, service and company, and how many reached each stage (a journey counts "
        "at every stage up to the furthest it reached).",
        columns,
        rows,
    )


def stage_totals(table: Table) -> list[tuple[str, str, int]]:
    """The stages report summed over its rows: (stage, heading, journeys), for the chart."""
    keys = [key for key, _ in table.columns]
    totals = []
    for stage in STAGES:
        index = keys.index(stage)
        totals.append((stage, STAGE_HEADINGS[stage], sum(int(row[index]) for row in table.rows)))
    return totals


def _per_event(events: Iterable[AuditEvent], period: Period, key, names: dict[str, str]) -> dict[tuple, Counter]:
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for event in events:
        if event.event in names and period.holds(event.day):
            counts[key(event)][names[event.event]] += 1
    return counts


def companies(events: Sequence[AuditEvent], period: Period = Period()) -> Table:
    """Per day, service and company: how often it was chosen and what it answered."""
    names = {
        "idp_selected": "chosen",
        "idp_authn_succeeded": "proved",
        "idp_authn_failed": "failed",
        "no_authn_context": "cancelled",
        "idp_authn_pending": "pending",
        "fraud_detected": "fraud",
        "requester_error": "requester_error",
    }
    counts = _per_event(events, period, lambda e: (e.day.isoformat(), e.rp, e.idp), names)
    order = list(dict.fromkeys(names.values()))
    rows = [(*key, *(c[name] for name in order), _rate(c["proved"], c["chosen"])) for key, c in sorted(counts.items())]
    columns = (
        ("day", "Day"),
        ("service", "Service"),
        ("company", "Company"),
        ("chosen", "Chosen"),
        ("proved", "Proved"),
        ("failed", "Failed"),
        ("cancelled", "Cancelled"),
        ("pending", "Pending"),
        ("fraud", "Fraud"),
        ("requester_error", "Requester error"),
        ("success_percent", "Success % (proved / chosen)"),
    )
    return Table("companies", "Success by company", "What each company answered, per day and service.", columns, rows)


def matching(events: Sequence[AuditEvent], period: Period = Period()) -> Table:
    """Per day and service: the matching service's answers by cycle, and account creation."""
    names = {
        "cycle01_match": "cycle01_match",
        "cycle01_no_match": "cycle01_no_match",
        "cycle3_match": "cycle3_match",
        "cycle3_no_match": "cycle3_no_match",
        "cycle3_input_cancelled": "cycle3_cancelled",
        "user_account_created": "account_created",
        "user_account_creation_failed": "account_creation_failed",
    }
    counts = _per_event(events, period, lambda e: (e.day.isoformat(), e.rp), names)
    order = list(names.values())
    rows = [(*key, *(c[name] for name in order)) for key, c in sorted(counts.items())]
    columns = (
        ("day", "Day"),
        ("service", "Service"),
        ("cycle01_match", "Cycle 0/1 match"),
        ("cycle01_no_match", "Cycle 0/1 no match"),
        ("cycle3_match", "Cycle 3 match"),
        ("cycle3_no_match", "Cycle 3 no match"),
        ("cycle3_cancelled", "Cycle 3 cancelled"),
        ("account_created", "Account created"),
        ("account_creation_failed", "Account creation failed"),
    )
    return Table(
        "matching",
        "Matching outcomes by cycle",
        "What the matching services answered: cycle 0/1 (a linked PID or the matching dataset), cycle 3 (the "
        "extra question), account creation.",
        columns,
        rows,
    )


def satisfaction(feedback: Sequence[Feedback], period: Period = Period()) -> Table:
    """Per day, app and service: how many answers gave each rating."""
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for answer in feedback:
        if period.holds(answer.day):
            counts[(answer.day.isoformat(), answer.app, answer.service)][answer.rating] += 1
    satisfied = ("very-satisfied", "satisfied")
    rows = [
        (*key, *(c[r] for r in RATINGS), sum(c.values()), _rate(sum(c[r] for r in satisfied), sum(c.values())))
        for key, c in sorted(counts.items())
    ]
    columns = (
        ("day", "Day"),
        ("app", "Where given"),
        ("service", "Service"),
        *((rating, rating.replace("-", " ").capitalize()) for rating in RATINGS),
        ("answers", "Answers"),
        ("satisfied_percent", "Satisfied %"),
    )
    return Table(
        "satisfaction",
        "Satisfaction",
        "Ratings given on the feedback form, per day, where it was given and the service the citizen was using "
        "(blank where the form was reached outside a journey).",
        columns,
        rows,
    )


def billing(events: Sequence[AuditEvent], period: Period = Period()) -> Table:
    """Per day, company, service and level: successful verifications (what each company bills for)."""
    counts: Counter = Counter()
    for event in events:
        if event.event == "idp_authn_succeeded" and period.holds(event.day):
            level = event.levels[0] if event.levels else ""
            counts[(event.day.isoformat(), event.idp, event.rp, level)] += 1
    rows = [(*key, n) for key, n in sorted(counts.items())]
    columns = (
        ("day", "Day"),
        ("company", "Company"),
        ("service", "Service"),
        ("level", "Level of assurance"),
        ("verifications", "Successful verifications"),
    )
    return Table(
        "billing",
        "Billing",
        "Identities each company proved for each service, at each level of assurance.",
        columns,
        rows,
    )


def fraud(events: Sequence[AuditEvent], period: Period = Period()) -> Table:
    """Per day, company and fraud indicator: how many fraud answers (for the fraud team; no one is named)."""
    counts: Counter = Counter()
    for event in events:
        if event.event == "fraud_detected" and period.holds(event.day):
            indicator = str(event.extra.get("fraud_indicator") or "")
            counts[(event.day.isoformat(), event.idp, indicator)] += 1
    rows = [(*key, n) for key, n in sorted(counts.items())]
    columns = (("day", "Day"), ("company", "Company"), ("indicator", "Fraud indicator"), ("events", "Fraud events"))
    return Table("fraud", "Fraud events", "Fraud answers from the companies, by indicator.", columns, rows)


def report(kind: str, events: Sequence[AuditEvent], feedback: Sequence[Feedback], period: Period = Period()) -> Table:
    """The report called `kind` (one of KINDS); ValueError names the kinds for any other."""
    if kind == "satisfaction":
        return satisfaction(feedback, period)
    builders = {
        "stages": stages,
        "companies": companies,
        "matching": matching,
        "billing": billing,
        "fraud": fraud,
    }
    if kind not in builders:
        raise ValueError(f"unknown report {kind!r}: one of {', '.join(KINDS)}")
    return builders[kind](events, period)
