"""federation.serve takes every option from its SERVE_* setting (the units pass no arguments), the command
line wins over the setting, and nonsense is refused before anything starts."""

from __future__ import annotations

import pytest

from federation.serve import parse_args

SETTINGS = {
    "SERVE_HOST": "127.0.0.9",
    "SERVE_PORT": "9310",
    "SERVE_WORKERS": "3",
    "SERVE_THREADS": "8",
    "SERVE_GRACEFUL_TIMEOUT": "20",
    "SERVE_RELOAD_DELAY": "1.5",
    "SERVE_HEADER_TIMEOUT": "7",
    "SERVE_BACKLOG": "256",
    "SERVE_SLOTS": "2",
}


@pytest.fixture
def no_serve_settings(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_option_comes_from_its_setting(no_serve_settings):
    for name, value in SETTINGS.items():
        no_serve_settings.setenv(name, value)
    args = parse_args(["hub"])
    assert (args.host, args.port, args.workers, args.threads) == ("127.0.0.9", 9310, 3, 8)
    assert (args.graceful_timeout, args.reload_delay, args.header_timeout, args.backlog) == (20, 1.5, 7, 256)
    assert args.slots == 2


def test_the_command_line_wins_and_the_defaults_hold(no_serve_settings):
    no_serve_settings.setenv("SERVE_WORKERS", "3")
    args = parse_args(["matching_service", "--port", "9311", "--workers", "1"])
    assert (args.host, args.port, args.workers, args.threads) == ("127.0.0.1", 9311, 1, 16)
    assert (args.graceful_timeout, args.reload_delay, args.header_timeout, args.backlog) == (30, 5.0, 30, 1024)
    assert args.slots == 4


@pytest.mark.parametrize(
    "argv",
    [
        ["hub"],  # no port, and no SERVE_PORT
        ["hub", "--port", "9312", "--workers", "0"],
        ["hub", "--port", "9312", "--slots", "0"],
        ["hub", "--port", "9312", "--graceful-timeout", "0"],
        ["hub", "--port", "9312", "--reload-delay", "-1"],
        ["hub", "--port", "9312", "--header-timeout", "x"],
        ["no_such_service", "--port", "9312"],
    ],
)
def test_nonsense_is_refused(no_serve_settings, argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err
