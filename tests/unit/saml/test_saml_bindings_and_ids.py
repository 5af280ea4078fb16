from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from federation.saml import SamlValidationError
from federation.saml.bindings import decode_post, encode_post
from federation.saml.hashed_pid import audit_pid, hashed_pid
from federation.saml.ids import instant, new_id, parse_instant


def _reason(call) -> str:
    with pytest.raises(SamlValidationError) as info:
        call()
    return info.value.reason


def test_post_round_trip_and_wrapped_lines():
    data = b"<samlp:Response>" + b"x" * 200 + b"</samlp:Response>"
    encoded = encode_post(data)
    assert decode_post(encoded) == data
    wrapped = "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert decode_post(wrapped) == data


def test_post_invalid_base64_refused():
    assert _reason(lambda: decode_post("PHNhbWw+*invalid*")) == "invalid-base64"
    assert _reason(lambda: decode_post("PHNhbWw+PC9zYW1sPg")) == "invalid-base64"  # missing padding
    assert _reason(lambda: decode_post("é")) == "invalid-base64"
    assert _reason(lambda: decode_post("")) == "empty-message"


def test_post_oversize_refused():
    data = b"x" * 1000
    assert decode_post(encode_post(data), max_bytes=1000) == data
    assert _reason(lambda: decode_post(encode_post(data), max_bytes=999)) == "too-large"
    assert _reason(lambda: decode_post("A" * 5000, max_bytes=1000)) == "too-large"


def test_new_id_is_a_random_ncname():
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100
    for value in ids:
        assert re.fullmatch(r"_[0-9a-f]{40}", value)  # 160 bits


def test_instant_format_and_parse():
    moment = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)
    assert instant(moment) == "2024-02-29T23:59:58.123Z"
    assert instant(moment.astimezone(timezone(timedelta(hours=2)))) == "2024-02-29T23:59:58.123Z"
    assert parse_instant("2024-02-29T23:59:58.123Z", field="IssueInstant") == moment.replace(microsecond=123000)
    assert parse_instant("2024-03-01T01:59:58+02:00", field="X") == datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)
    with pytest.raises(ValueError):
        instant(datetime(2024, 1, 1))


def test_parse_instant_refusals():
    assert _reason(lambda: parse_instant("2024-02-30T00:00:00Z", field="IssueInstant")) == "bad-datetime"
    assert _reason(lambda: parse_instant("2024-01-01 00:00:00", field="IssueInstant")) == "bad-datetime"
    assert _reason(lambda: parse_instant("2024-01-01T00:00:00", field="IssueInstant")) == "bad-datetime"
    assert _reason(lambda: parse_instant(None, field="IssueInstant")) == "missing-issueinstant"


def test_hashed_pid_matches_the_contract():
    expected = hashlib.sha256(b"https://idp.testhttps://ms.testpid-1").hexdigest()
    assert hashed_pid("https://idp.test", "https://ms.test", "pid-1") == expected
    assert audit_pid("https://idp.test", "pid-1") == hashlib.sha256(b"https://idp.testpid-1").hexdigest()
