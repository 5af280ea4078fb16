"""Vectors of trust (RFC 8485) beside GOV.UK Verify's levels of assurance: identity confidence kept apart
from authentication strength.

A vector is dot-separated components. Two dimensions are defined here, as GOV.UK One Login uses them:
credential strength `Cl` (one factor) and `Cl.Cm` (two factors; `Cm` never without `Cl`), and identity
confidence `P0` (none, authentication only) to `P4`. The rules a request must pass, or be an
`invalid_request`: every component known and listed once, at least one credential component, at most one
`P`, and any `P` above `P0` only with `Cl.Cm`.

Verify's identity providers answer with one level of assurance that covers both dimensions, so a vector
maps to the level the hub asks them for, the higher of what each dimension needs; and the level an IDP
reached maps back to what was reached in each dimension (`reached`). The table is `LEVEL_FOR` and
`REACHED_BY`, and docs/oidc.md shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from federation.loa import LevelOfAssurance

CREDENTIALS: tuple[str, ...] = ("Cl", "Cm")
CONFIDENCE: tuple[str, ...] = ("P0", "P1", "P2", "P3", "P4")
MAX_VECTORS = 5
_COMPONENT = re.compile(r"[A-Z][a-z0-9]")


class VectorError(ValueError):
    """Not a vector the federation accepts; the message says which rule it breaks (safe to show)."""


@dataclass(frozen=True, order=True)
class Vector:
    """One vector: two-factor or not, and the identity confidence (0 = authentication only)."""

    confidence: int
    two_factor: bool

    @property
    def needs_identity(self) -> bool:
        return self.confidence > 0

    def __str__(self) -> str:
        credential = "Cl.Cm" if self.two_factor else "Cl"
        return f"{credential}.P{self.confidence}" if self.confidence else credential

    def satisfied_by(self, reached: Vector) -> bool:
        return reached.confidence >= self.confidence and (reached.two_factor or not self.two_factor)


def parse_vector(text: object) -> Vector:
    """One vector such as `Cl.Cm.P2`; VectorError naming the broken rule."""
    if not isinstance(text, str) or not text or len(text) > 32:
        raise VectorError("a vector is a short text such as Cl.Cm or Cl.Cm.P2")
    components = text.split(".")
    if any(not _COMPONENT.fullmatch(part) for part in components):
        raise VectorError(f"{text!r} is not dot-separated components such as Cl.Cm.P2")
    if len(set(components)) != len(components):
        raise VectorError(f"{text!r} lists a component twice")
    unknown = [part for part in components if part not in CREDENTIALS + CONFIDENCE]
    if unknown:
        raise VectorError(f"{text!r} has an unknown component {unknown[0]!r}")
    confidence = [part for part in components if part in CONFIDENCE]
    if len(confidence) > 1:
        raise VectorError(f"{text!r} has more than one identity confidence (P) component")
    if "Cl" not in components:
        raise VectorError(f"{text!r} has no credential component (Cl or Cl.Cm)")
    level = int(confidence[0][1]) if confidence else 0
    two_factor = "Cm" in components
    if level > 0 and not two_factor:
        raise VectorError(f"{text!r}: identity confidence above P0 needs Cl.Cm")
    return Vector(confidence=level, two_factor=two_factor)


def parse_vtr(values: Sequence[object]) -> tuple[Vector, ...]:
    """The `vtr` request parameter, already JSON-decoded: a non-empty list of vectors, any of which will do."""
    if not isinstance(values, list | tuple) or not values:
        raise VectorError('vtr is a JSON array of vectors, e.g. ["Cl.Cm.P2"]')
    if len(values) > MAX_VECTORS:
        raise VectorError(f"vtr lists more than {MAX_VECTORS} vectors")
    vectors = tuple(parse_vector(value) for value in values)
    if len(set(vectors)) != len(vectors):
        raise VectorError("vtr lists a vector twice")
    return vectors


# What each dimension needs of a Verify identity provider. Two factors are what LEVEL_2 adds to LEVEL_1;
# identity confidence P1..P4 is Verify's identity proofing at LEVEL_1..LEVEL_4.
_CREDENTIAL_LEVEL = {False: LevelOfAssurance.LEVEL_1, True: LevelOfAssurance.LEVEL_2}
_CONFIDENCE_LEVEL = {
    0: LevelOfAssurance.LEVEL_1,
    1: LevelOfAssurance.LEVEL_1,
    2: LevelOfAssurance.LEVEL_2,
    3: LevelOfAssurance.LEVEL_3,
    4: LevelOfAssurance.LEVEL_4,
}


def level_for(vector: Vector) -> LevelOfAssurance:
    """The lowest Verify level that meets both dimensions of `vector`."""
    return max(_CREDENTIAL_LEVEL[vector.two_factor], _CONFIDENCE_LEVEL[vector.confidence])


def levels_for(vectors: Iterable[Vector]) -> tuple[LevelOfAssurance, ...]:
    """The levels to ask identity providers for when any of `vectors` will do, lowest first."""
    return tuple(sorted({level_for(vector) for vector in vectors}))


def reached(level: LevelOfAssurance) -> Vector:
    """What an IDP's answer at `level` reached in each dimension."""
    return Vector(confidence=int(level), two_factor=level >= LevelOfAssurance.LEVEL_2)


def vector_of_trust(requested: Iterable[Vector], level: LevelOfAssurance) -> Vector | None:
    """The `vot`: the strongest requested vector that `level` reached (None if none was)."""
    got = reached(level)
    met = [vector for vector in requested if vector.satisfied_by(got)]
    return max(met) if met else None
