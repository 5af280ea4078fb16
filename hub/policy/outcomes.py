"""What an identity provider answered, in the journey's terms: typed outcomes with no XML in them.

The IDP-side engine (`hub.idp_engine`) turns a verified SAML Response into one of these; the journey
applies it. They are plain data so that an answer can be parked between the cross-site POST that brought
it and the request from the citizen's own browser that applies it (`to_dict` / `outcome_from_dict`).
A success carries the IDP's assertions already re-encrypted for the party that reads them next (the
service's matching service, or the service itself), so nothing parked or kept holds them in clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from federation.loa import LevelOfAssurance


@dataclass(frozen=True, kw_only=True)
class IdpOutcome:
    """Common to every answer: which IDP answered which of the hub's requests."""

    kind: ClassVar[str]
    idp_entity_id: str
    in_response_to: str

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        for name, value in raw.items():
            if isinstance(value, LevelOfAssurance):
                raw[name] = value.name
            elif isinstance(value, tuple):
                raw[name] = list(value)
        return {"kind": self.kind, **raw}


@dataclass(frozen=True, kw_only=True)
class IdpSuccess(IdpOutcome):
    """Authenticated at `level`. `sealed_assertions`: base64 EncryptedAssertions for the next reader."""

    kind: ClassVar[str] = "success"
    level: LevelOfAssurance
    pid: str
    pid_hash: str
    sealed_assertions: tuple[str, ...] = field(default=())
    for_matching_service: bool = True


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
        fields = {name: value for name, value in raw.items() if name != "kind"}
        if fields.get("level") is not None:
            fields["level"] = LevelOfAssurance.from_name(fields["level"])
        if "sealed_assertions" in fields:
            fields["sealed_assertions"] = tuple(str(item) for item in fields["sealed_assertions"])
        return cls(**fields)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not an IDP outcome: {exc}") from exc
