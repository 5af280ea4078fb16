"""Reports for service managers, computed from the hub's audit events and feedback (see `compute`)."""

from hub.reports.compute import KINDS, STAGES, Period, Table, report, stage_totals
from hub.reports.events import AuditEvent, Feedback, log_files, read_events, read_feedback

__all__ = [
    "KINDS",
    "STAGES",
    "AuditEvent",
    "Feedback",
    "Period",
    "Table",
    "log_files",
    "read_events",
    "read_feedback",
    "report",
    "stage_totals",
]
