"""federation.logsafe.log_safe: a caller's value in a log line can neither forge a line nor flood the log."""

from __future__ import annotations

import logging

import pytest

from federation.logsafe import MAX_CHARS, log_safe


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("_a1b2-c3.d4", "'_a1b2-c3.d4'"),
        ("", "''"),
        (None, "None"),
        (42, "'42'"),
        ("line\nnext", "'line\\nnext'"),
        ("cr\rlf\r\n", "'cr\\rlf\\r\\n'"),
        ("tab\there", "'tab\\there'"),
        ("quote ' and back\\slash", "'quote \\' and back\\\\slash'"),
        ("\x1b[2J\x00\x7f", "'\\x1b[2J\\x00\\x7f'"),
        ("Siân\u2028next\U0001f600", "'Si\\xe2n\\u2028next\\U0001f600'"),
        (b"raw\nbytes\xff", "'raw\\nbytes\\xff'"),
    ],
)
def test_rendering_is_quoted_printable_ascii(value, rendered) -> None:
    assert log_safe(value) == rendered
    assert log_safe(value).isascii() and log_safe(value).isprintable()


def test_long_values_are_cut_and_say_how_much_was_left_out() -> None:
    assert log_safe("x" * (MAX_CHARS + 5)) == "'" + "x" * MAX_CHARS + "'...(+5 chars)"
    assert log_safe("abcdef", max_chars=3) == "'abc'...(+3 chars)"
    assert len(log_safe("\n" * 10_000)) < 4 * MAX_CHARS


def test_a_forged_line_stays_inside_one_record(caplog) -> None:
    forged = "_id\n2026-01-01 00:00:00,000 matching_service INFO x: local match '_other': cycle 1, match"
    logger = logging.getLogger("tests.logsafe")
    with caplog.at_level(logging.INFO, logger="tests.logsafe"):
        logger.info("local match %s: cycle %d, %s", log_safe(forged, max_chars=500), 1, "no-match")
    assert len(caplog.text.splitlines()) == 1
    assert caplog.records[0].getMessage().endswith("cycle 1, match': cycle 1, no-match")
