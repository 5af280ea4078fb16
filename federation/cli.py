"""`federation`: the operator's compliance tool for identity providers and services joining the federation.

    federation check-idp IDP [--hook-url URL] [--user NAME] [--report FILE]
    federation check-idp IDP --prepare DIR          then, after saving the IDP's Responses there:
    federation check-idp IDP --responses DIR [--report FILE]
    federation check-service SERVICE [--start-url URL] [--assertion-key NAME] [--report FILE]

Run it in the integration environment as the hub: `FEDERATION_CONFIG` names the federation config (its
`${HUB_URL}`-style variables come from the environment) and `FEDERATION_KEYS_DIR` (or `--keys-dir`) holds
the hub's keys. It prints one row per scenario (scenario, expected, what happened, PASS/FAIL/SKIP, what to
fix) and exits 0 when nothing failed, 1 when something did, 2 when it could not run (a config, key or
name mistake, said on one line). docs/idp-profile.md describes the profile and both commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from federation.compliance.hub_role import HubRole, load_hub_role
from federation.compliance.idp_check import AnswerHook, SavedAnswers, check_idp, prepare_saved_answers, utc_now
from federation.compliance.report import Report, render_markdown, render_table
from federation.compliance.service_check import check_service
from federation.config import ConfigError
from federation.credentials import CredentialError

DEFAULT_TEST_USER = "alice"  # the stub IDPs' test user known to all three


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="federation", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    idp = commands.add_parser("check-idp", help="check an identity provider against the IDP profile")
    idp.add_argument("idp", help="the identity provider's name or entity ID in the federation config")
    answers = idp.add_mutually_exclusive_group()
    answers.add_argument("--hook-url", help="the IDP's test hook (default: its SSO URL + /headless, as the stubs)")
    answers.add_argument("--prepare", type=Path, metavar="DIR", help="write one request page per answer scenario")
    answers.add_argument("--responses", type=Path, metavar="DIR", help="check the Responses saved in DIR")
    idp.add_argument("--user", default=DEFAULT_TEST_USER, help="the test user the hook signs in (default: alice)")

    service = commands.add_parser("check-service", help="check a service's sign-in and ACS")
    service.add_argument("service", help="the service's name or entity ID in the federation config")
    service.add_argument("--start-url", help="where a sign-in starts (default: the service's home URL)")
    service.add_argument(
        "--assertion-key",
        metavar="NAME",
        help="verify services: sign success assertions with NAME-signing.key (default: found); standard "
        "services get the hub's own assertion",
    )

    for command in (idp, service):
        command.add_argument("--keys-dir", type=Path, help="the hub's keys (default: FEDERATION_KEYS_DIR)")
        command.add_argument("--report", type=Path, metavar="FILE", help="also write the results as Markdown")
    return parser


def _emit(report: Report, markdown: Path | None) -> int:
    sys.stdout.write(render_table(report))
    if markdown is not None:
        markdown.write_text(render_markdown(report), encoding="utf-8")
        sys.stdout.write(f"report written to {markdown}\n")
    return 0 if report.ok else 1


def _check_idp(role: HubRole, args: argparse.Namespace) -> int:
    idp = role.identity_provider(args.idp)
    if args.prepare is not None:
        written = prepare_saved_answers(role, idp, args.prepare, utc_now())
        sys.stdout.write(
            f"wrote {len(written) - 1} request pages and {written[-1].name} to {args.prepare}: open each page, do its "
            "scenario at the identity provider, save the SAMLResponse it posts to the hub as <scenario>.saml "
            f"within five minutes, then run: federation check-idp {idp.name} --responses {args.prepare}\n"
        )
        return 0
    if args.responses is not None:
        source = SavedAnswers(args.responses)
    else:
        source = AnswerHook(args.hook_url or idp.sso_url + "/headless", args.user, role.config.hub.response_url)
    return _emit(check_idp(role, idp, source), args.report)


def _check_service(role: HubRole, args: argparse.Namespace) -> int:
    rp = role.relying_party(args.service)
    return _emit(check_service(role, rp, start_url=args.start_url, assertion_key=args.assertion_key), args.report)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        role = load_hub_role(keys_dir=args.keys_dir)
        if args.command == "check-idp":
            return _check_idp(role, args)
        return _check_service(role, args)
    except (ConfigError, CredentialError, LookupError, OSError) as exc:
        print(f"federation {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
