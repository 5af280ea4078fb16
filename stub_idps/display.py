"""Readable text for the stub IDP pages: levels, what the hub asked for, dates, and the dataset to be sent.

Bound to one catalogue and language per request, so views stay thin and templates receive plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from federation.loa import LevelOfAssurance
from federation.saml import Address, MdsValue
from federation.web.i18n import Catalogue
from stub_idps.inbound import PendingRequest
from stub_idps.users import StubUser


@dataclass(frozen=True)
class Display:
    catalogue: Catalogue
    language: str

    def text(self, key: str, **params: object) -> str:
        return self.catalogue.text(self.language, key, **params)

    def level(self, level: LevelOfAssurance) -> str:
        return self.text(f"stub_idp.level.{level.name}")

    def requested(self, pending: PendingRequest) -> tuple[str, str] | None:
        """(comparison, levels) of the hub's RequestedAuthnContext, e.g. ("at least", "Level 2")."""
        if not pending.requested_loas:
            return None
        comparison = pending.comparison or "exact"
        levels = (min(pending.requested_loas),) if comparison == "minimum" else pending.requested_loas
        return self.text(f"stub_idp.comparison.{comparison}"), " / ".join(self.level(level) for level in levels)

    def date(self, value: date | None) -> str:
        if value is None:
            return ""
        months = self.catalogue.paragraphs(self.language, "stub_idp.months")
        return f"{value.day} {months[value.month - 1]} {value.year}"

    def details(self, user: StubUser) -> dict[str, Any]:
        """The matching dataset that will be sent, as the consent page shows it."""
        mds = user.matching_dataset
        names = [v.value for v in (*_current(mds.first_names)[:1], *mds.middle_names, *_current(mds.surnames)[:1])]
        return {
            "name": " ".join(str(n) for n in names),
            "date_of_birth": self.date(mds.date_of_birth.value) if mds.date_of_birth else "",  # type: ignore[arg-type]
            "address": _address_lines(mds.current_address) if mds.current_address else (),
            "previous_addresses": tuple(_address_lines(a) for a in mds.previous_addresses),
        }


def _current(values: tuple[MdsValue, ...]) -> tuple[MdsValue, ...]:
    """Values without an end date (the current ones); all values if every one has ended."""
    return tuple(v for v in values if v.to_date is None) or values


def _address_lines(address: Address) -> tuple[str, ...]:
    return (*address.lines, *(p for p in (address.postcode, address.international_postcode) if p))
