"""The local matcher answers only the holder of its bearer token, and will not run without one.

Through Flask's test client over the demo records; the same refusals against the real process are in
tests/hostile/test_local_matcher_edge.py.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from federation.runtime import Runtime
from matching_service import local_matching_auth
from matching_service.local_matcher_app import create_app, create_local_matcher_app, local_matching_blueprint
from matching_service.local_matching_auth import (
    LocalMatchingTokenError,
    bearer_token_matches,
    load_local_matching_token,
)
from matching_service.records import RecordStore

LOGGER = "matching_service.local_matcher_app"


@pytest.fixture
def anonymous(demo_store, local_matching_token):
    """The matcher app with no credential preset: each test sends its own Authorization header."""
    return create_local_matcher_app(demo_store, token=local_matching_token).test_client()


def _refused(response, error: str) -> None:
    assert response.status_code == 401, response.data
    assert response.is_json and response.get_json()["error"] == error
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["match", "create-user"])
@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, "missing-credential"),
        ("", "missing-credential"),
        ("Bearer", "wrong-token"),
        ("Bearer not-the-token", "wrong-token"),
        ("Basic dXNlcjpwYXNz", "not-bearer"),
        ("Bearer Ünïcode-ñot-ascii", "wrong-token"),
    ],
)
def test_calls_without_the_token_are_refused_401_and_change_nothing(
    anonymous, demo_store, users_by_name, make_match_body, path, authorization, error, caplog
) -> None:
    body = make_match_body(users_by_name["alice"])
    if path == "create-user":
        body = {"hashedPid": body["hashedPid"], "levelOfAssurance": "LEVEL_2", "FIRST_NAME": "Mallory"}
    headers = {} if authorization is None else {"Authorization": authorization}
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        _refused(anonymous.post(f"/local-matching/{path}", json=body, headers=headers), error)
    assert demo_store.record_for_hashed_pid(body["hashedPid"]) is None
    assert not demo_store.has_created_user(body["hashedPid"])
    assert f"local matcher call refused: {error} ('POST' '/local-matching/{path}' from " in caplog.text


def test_the_right_token_with_a_trailing_character_is_refused(anonymous, local_matching_token) -> None:
    for near_miss in (local_matching_token + "x", local_matching_token[:-1], local_matching_token.upper()):
        _refused(anonymous.post("/local-matching/match", json={}, headers={"Authorization": f"Bearer {near_miss}"}),
                 "wrong-token")  # fmt: skip


def test_the_refusal_comes_before_the_body_is_read(anonymous) -> None:
    """Without the token a caller learns nothing, not even whether its body would have parsed."""
    response = anonymous.post("/local-matching/match", data=b"{not json", content_type="application/json")
    _refused(response, "missing-credential")
    _refused(anonymous.post("/local-matching/match", data=b"x", content_type="text/plain"), "missing-credential")


def test_the_right_token_is_accepted(anonymous, demo_store, users_by_name, make_match_body, local_matching_token):
    body = make_match_body(users_by_name["alice"])
    for scheme in ("Bearer", "bearer"):  # the scheme is case-insensitive (RFC 7235)
        response = anonymous.post(
            "/local-matching/match", json=body, headers={"Authorization": f"{scheme} {local_matching_token}"}
        )
        assert response.status_code == 200 and response.get_json() == {"result": "match"}
    assert demo_store.record_for_hashed_pid(body["hashedPid"]) == "D-1001"


def test_the_token_is_compared_in_constant_time(monkeypatch, local_matching_token) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = local_matching_auth.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(local_matching_auth.hmac, "compare_digest", spy)
    assert bearer_token_matches(f"Bearer {local_matching_token}", local_matching_token) is None
    assert bearer_token_matches("Bearer guess", local_matching_token) == "wrong-token"
    assert compared == [(local_matching_token.encode(), local_matching_token.encode()), (b"guess", compared[1][1])]


def test_no_token_value_reaches_the_log(anonymous, local_matching_token, caplog) -> None:
    presented = "Bearer presented-secret-" + "q" * 30
    with caplog.at_level(logging.DEBUG):
        anonymous.post("/local-matching/match", json={}, headers={"Authorization": presented})
        anonymous.post("/local-matching/match", json={}, headers={"Authorization": f"Bearer {local_matching_token}"})
    assert "presented-secret" not in caplog.text and local_matching_token not in caplog.text


def test_healthcheck_needs_no_token_and_other_paths_are_json_404(anonymous) -> None:
    assert anonymous.get("/healthcheck").get_json() == {"status": "ok"}
    missing = anonymous.get("/local-matching/records")
    assert missing.status_code == 404 and missing.is_json


def test_a_forged_log_line_in_the_match_id_is_escaped(matcher_client, users_by_name, make_match_body, caplog) -> None:
    body = make_match_body(users_by_name["nora"])  # no match: a forged "match" line would be a lie
    body["matchId"] = "_q1\n2026-01-01 00:00:00,000 local_matcher INFO x: local match _q2: cycle 1, match\r\x1b[1A"
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert matcher_client.post("/local-matching/match", json=body).get_json() == {"result": "no-match"}
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("local match")]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.startswith("local match '_q1\\n2026-01-01 ")
    assert re.fullmatch(r"local match '[^']*'(\.\.\.\(\+\d+ chars\))?: cycle 1, no-match( \(.*\))?", line), line
    assert len(caplog.text.splitlines()) == 1


# --- the setting ------------------------------------------------------------------------------------------


def _settings(**values: str):
    return lambda name: values.get(name)


def test_no_token_refuses_with_a_message_naming_both_settings() -> None:
    with pytest.raises(LocalMatchingTokenError, match="LOCAL_MATCHING_TOKEN, or LOCAL_MATCHING_TOKEN_FILE"):
        load_local_matching_token(_settings())
    with pytest.raises(LocalMatchingTokenError):
        load_local_matching_token(_settings(LOCAL_MATCHING_TOKEN=""))
    assert issubclass(LocalMatchingTokenError, ValueError)  # federation.serve: one line, exit status 2


@pytest.mark.parametrize("token", ["short", "x" * 31, "has a space in it " + "x" * 30, "tab\t" + "x" * 40])
def test_a_weak_or_unsendable_token_is_refused(token) -> None:
    with pytest.raises(LocalMatchingTokenError, match="at least 32 visible ASCII characters") as refused:
        load_local_matching_token(_settings(LOCAL_MATCHING_TOKEN=token))
    assert token not in str(refused.value)


def test_the_token_can_come_from_a_file(tmp_path: Path, local_matching_token, caplog) -> None:
    path = tmp_path / "token"
    path.write_text(local_matching_token + "\n")
    path.chmod(0o600)
    assert load_local_matching_token(_settings(LOCAL_MATCHING_TOKEN_FILE=str(path))) == local_matching_token
    assert caplog.text == ""
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        load_local_matching_token(_settings(LOCAL_MATCHING_TOKEN_FILE=str(path)))
    assert "chmod 600" in caplog.text and local_matching_token not in caplog.text


def test_a_missing_token_file_or_both_settings_are_refused(tmp_path: Path, local_matching_token) -> None:
    with pytest.raises(LocalMatchingTokenError, match="cannot read LOCAL_MATCHING_TOKEN_FILE"):
        load_local_matching_token(_settings(LOCAL_MATCHING_TOKEN_FILE=str(tmp_path / "absent")))
    path = tmp_path / "token"
    path.write_text(local_matching_token)
    with pytest.raises(LocalMatchingTokenError, match="not both"):
        load_local_matching_token(
            _settings(LOCAL_MATCHING_TOKEN=local_matching_token, LOCAL_MATCHING_TOKEN_FILE=str(path))
        )


def test_the_contract_is_never_mounted_without_a_token(demo_store) -> None:
    with pytest.raises(ValueError, match="never served without a token"):
        local_matching_blueprint(demo_store, token="")
    with pytest.raises(TypeError):
        create_local_matcher_app(demo_store)  # type: ignore[call-arg]


# --- the process's app factory ---------------------------------------------------------------------------


def _runtime(federation_config, keys_dir, var_dir: Path, **environ: str) -> Runtime:
    return Runtime(config=federation_config, keys_dir=keys_dir, var_dir=var_dir, environ=environ)


def test_the_process_refuses_to_start_without_a_token(federation_config, keys_dir, tmp_path) -> None:
    with pytest.raises(LocalMatchingTokenError):
        create_app(_runtime(federation_config, keys_dir, tmp_path))
    assert not (tmp_path / "matching-service.sqlite3").exists()  # refused before touching the records


def test_the_process_serves_the_records_database_in_var_dir_by_default(
    federation_config, keys_dir, tmp_path, local_matching_token, users_by_name, make_match_body
) -> None:
    store = RecordStore(tmp_path / "matching-service.sqlite3")  # what `matching-service import` writes
    store.import_csv(Path(__file__).resolve().parents[3] / "matching_service" / "demo" / "records.csv")
    store.close()
    client = create_app(_runtime(federation_config, keys_dir, tmp_path, LOCAL_MATCHING_TOKEN=local_matching_token))
    answer = client.test_client().post(
        "/local-matching/match",
        json=make_match_body(users_by_name["alice"]),
        headers={"Authorization": f"Bearer {local_matching_token}"},
    )
    assert answer.get_json() == {"result": "match"}


def test_a_database_that_cannot_be_opened_is_a_start_up_refusal(federation_config, keys_dir, tmp_path) -> None:
    runtime = _runtime(
        federation_config, keys_dir, tmp_path, LOCAL_MATCHING_TOKEN="t" * 40, MATCHING_SERVICE_DB="postgres://x/y"
    )
    with pytest.raises(ValueError, match="MATCHING_SERVICE_DB"):
        create_app(runtime)
    assert os.listdir(tmp_path) == []
