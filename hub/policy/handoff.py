"""Continuing a journey on another device: the short code, its lifetime, and when a journey may move.

The first device (say a laptop) shows a code; the second (a phone) enters it; the first must then confirm
before anything moves. The code alone is therefore never enough to take a journey: whoever learns it can
only *ask*, and the citizen at the first device says yes or no. The code is still made hard to guess
(8 characters from 31: about 2^39.6 codes, valid `CODE_LIFETIME`, single use, guesses rate-limited), so that
nobody can pester a citizen with requests they never made.

The alphabet leaves out characters people confuse when reading or typing: 0 and O, 1, I and L.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from hub.policy import states as s

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=5)  # time to pick up a phone and scan or type the code
CLAIM_LIFETIME = timedelta(minutes=5)  # time to confirm on the first device, then to carry on on the second
GUESSES_PER_MINUTE = 10  # code entries per client: ample for typing mistakes, hopeless for guessing

# A journey can move while the citizen is choosing a company or may choose again: before the hub has sent
# them to a company, or after that company's answer let them try again. Not while a company's or the
# matching service's answer is awaited (it must come back to the browser that asked), and not at the end.
MOVABLE_STATES: frozenset[s.State] = frozenset(
    {
        s.State.SESSION_STARTED,
        s.State.IDP_SELECTED,  # shown the company list again (browser back): a late answer is then refused
        s.State.AUTHN_FAILED_ERROR,
        s.State.REQUESTER_ERROR,
        s.State.PAUSED_REGISTRATION,
    }
)


def may_move(state: s.State) -> bool:
    return state in MOVABLE_STATES


def new_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return "".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(CODE_LENGTH))


def normalise_code(text: object) -> str | None:
    """The code the citizen meant: capitals, spaces and hyphens ignored; None if it cannot be one of ours."""
    if not isinstance(text, str) or len(text) > 32:
        return None
    code = "".join(ch for ch in text.upper() if ch not in " -\t")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def display_code(code: str) -> str:
    """Two groups of four, easier to read out and type: ABCD-EFGH."""
    half = CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"
