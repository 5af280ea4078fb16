"""Will a company work for this citizen? From a few answers about what they have (documents, a phone, a UK
address), as GOV.UK Verify's "will it work for me" questions did. Plain Python: no Flask, no config I/O.

The answers only order and annotate the list: every eligible company is still shown, so a citizen who
answered wrongly is never left without a choice. They are kept in the session for the journey, never
logged or audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation.config import IdentityProvider

# the exclusive "none of these" box of a question: an answer, where no box ticked is none
NONE_OF_THESE = "none"


@dataclass(frozen=True)
class CitizenHas:
    """What the citizen said they have; None where they did not answer (which rules no company out)."""

    documents: frozenset[str] | None
    phones: frozenset[str] | None
    uk_address: bool | None


def missing(idp: IdentityProvider, has: CitizenHas) -> tuple[str, ...]:
    """What the company asks for that the citizen said they do not have (message keys: documents, phone,
    uk_address); empty when it is likely to work for them."""
    lacking = []
    if idp.accepts_documents and has.documents is not None and not has.documents & set(idp.accepts_documents):
        lacking.append("documents")
    if idp.accepts_phones and has.phones is not None and not has.phones & set(idp.accepts_phones):
        lacking.append("phone")
    if idp.needs_uk_address and has.uk_address is False:
        lacking.append("uk_address")
    return tuple(lacking)


def split_by_suitability(
    idps: tuple[IdentityProvider, ...] | list[IdentityProvider], has: CitizenHas | None
) -> tuple[list[IdentityProvider], list[tuple[IdentityProvider, tuple[str, ...]]]]:
    """(likely to work, may not work with what each lacks), each in the order given (the session's shuffle)."""
    if has is None:
        return list(idps), []
    likely, unlikely = [], []
    for idp in idps:
        lacking = missing(idp, has)
        (unlikely.append((idp, lacking)) if lacking else likely.append(idp))
    return likely, unlikely
