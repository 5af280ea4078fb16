"""What an identity provider or a matching service answered, in the journey's terms: typed outcomes with
no XML in them.

The protocol engines (`hub.engines.idp`, `hub.engines.matching`) turn a verified SAML message into one of
these; the journey policy (`hub.policy.journey`) applies it. IDP outcomes are plain data so that an answer
can be parked between the cross-site POST that brought it and the request from the citizen's own browser
that applies it (`to_dict` / `outcome_from_dict`). A success carries the IDP's assertions already
re-encrypted for the party that reads them next (the service's matching service, or the service itself),
so nothing parked or kept holds them in clear; and the verified identity only when the service's front end
releases identity attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

from federation.identity import MatchingDataset, dataset_from_dict, dataset_to_dict
from federation.loa import LevelOfAssurance


@dataclass(frozen=True, kw_only=True)
class IdpOutcome:
    """Common to every answer: which IDP answered which of the hub's requests."""

    kind: ClassVar[str]
    idp_entity_id: str
    in_response_to: str

    def to_dict(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"kind": self.kind}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, LevelOfAssurance):
                value = value.name
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, MatchingDataset):
                value = dataset_to_dict(value)
            raw[item.name] = value
        return raw


@dataclass(frozen=True, kw_only=True)
class IdpSuccess(IdpOutcome):
    """Authenticated at `level`. `sealed_assertions`: EncryptedAssertions for the next reader, as XML text."""

    kind: ClassVar[str] = "success"
    level: LevelOfAssurance
    pid: str
    pid_hash: str
    authn_instant: datetime
    sealed_assertions: tuple[str, ...] = field(default=())
    for_matching_service: bool = True
    identity: MatchingDataset | None = None  # only for a front end that releases identity attributes


@dataclass(frozen=True, kw_only=True)
class IdpCancelled(IdpOutcome):
    kind: ClassVar[str] = "cancelled"


@dataclass(frozen=True, kw_only=True)
class IdpPending(IdpOutcome):
    """A registration paused at the IDP (`loa-pending`)."""

    kind: ClassVar[str] = "pending"


@dataclass(frozen=True, kw_only=True)
class IdpAuthnFailed(IdpOutcome):
    """`reason` for the audit (e.g. the IDP's status detail or `loa-too-low`); `problem` for the page."""

    kind: ClassVar[str] = "authn-failed"
    reason: str = "authn-failed"
    problem: str | None = None
    level: LevelOfAssurance | None = None


@dataclass(frozen=True, kw_only=True)
class IdpRequesterError(IdpOutcome):
    kind: ClassVar[str] = "requester-error"


@dataclass(frozen=True, kw_only=True)
class IdpFraud(IdpOutcome):
    """A fraud event, with the IDP's GPG 45 indicator (e.g. `DF01`)."""

    kind: ClassVar[str] = "fraud"
    indicator: str


OUTCOME_TYPES: Mapping[str, type[IdpOutcome]] = MappingProxyType(
    {cls.kind: cls for cls in (IdpSuccess, IdpCancelled, IdpPending, IdpAuthnFailed, IdpRequesterError, IdpFraud)}
)


def outcome_from_dict(raw: Mapping[str, Any]) -> IdpOutcome:
    """The outcome `to_dict` gave; ValueError for anything else."""
    try:
        cls = OUTCOME_TYPES[raw["kind"]]
        values = {name: value for name, value in raw.items() if name != "kind"}
        if values.get("level") is not None:
            values["level"] = LevelOfAssurance.from_name(values["level"])
        if "sealed_assertions" in values:
            values["sealed_assertions"] = tuple(str(item) for item in values["sealed_assertions"])
        if values.get("authn_instant") is not None:
            values["authn_instant"] = datetime.fromisoformat(values["authn_instant"])
        if values.get("identity") is not None:
            values["identity"] = dataset_from_dict(values["identity"])
        return cls(**values)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an IDP outcome: {exc}") from exc


# --- the matching service's answers ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MatchingOutcome:
    kind: ClassVar[str]


@dataclass(frozen=True, kw_only=True)
class RecordMatched(MatchingOutcome):
    """The service's record was found; `service_assertions`: the matching service's assertion for the
    service (its `EncryptedAssertion`, XML text), relayed unchanged in the `verify` profile."""

    kind: ClassVar[str] = "match"
    service_assertions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AccountCreated(MatchingOutcome):
    kind: ClassVar[str] = "created"
    service_assertions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class NoRecord(MatchingOutcome):
    """No match (several candidates count as none: never guess between two people)."""

    kind: ClassVar[str] = "no-match"


@dataclass(frozen=True, kw_only=True)
class AccountNotCreated(MatchingOutcome):
    kind: ClassVar[str] = "create-failure"


@dataclass(frozen=True, kw_only=True)
class MatchingFailed(MatchingOutcome):
    """No usable answer (timeout, refused, not a valid signed Response); `reason` for the operator's log."""

    kind: ClassVar[str] = "failed"
    reason: str
