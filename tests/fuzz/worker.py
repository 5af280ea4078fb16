"""One fuzz target in its own process: `python -m tests.fuzz.worker TARGET --workdir D --seconds N ...`.

With atheris, the `federation` package is instrumented for coverage before it is imported, and libFuzzer
drives the target from the seed corpus. Without atheris, a plain mutation loop (random byte edits, XML
tokens, splices of seeds) does. Either way every input goes through `Findings.run`, which sorts outcomes
into accepted, refused (a documented refusal) and crashed, writes crashing inputs to the crash directory,
and keeps a stats file up to date; the worker exits by itself when its time is up.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

MAX_KEPT_PER_SIGNATURE = 3  # crashing inputs written per distinct crash site; all are counted
MAX_INPUT_BYTES = 256 * 1024

# Tokens the mutators insert: XML and SAML syntax the parsers must survive.
DICTIONARY = [
    "<!DOCTYPE",
    "<!ENTITY",
    '<!ENTITY % p SYSTEM "file:///etc/hostname">',
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version='1.0' encoding='UTF-8'?>",
    ' encoding="UTF-7"',
    "&amp;",
    "&#0;",
    "&#x10FFFF;",
    "&lt;",
    " xmlns=",
    ' xmlns:ds="http://www.w3.org/2000/09/xmldsig#"',
    ' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"',
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    ' ID="_a"',
    ' Version="2.0"',
    ' IssueInstant="2026-01-01T00:00:00Z"',
    ' NotOnOrAfter="9999-12-31T23:59:59Z"',
    ' validUntil="',
    ' xsi:type="ida:AddressType"',
    ' xsi:type="xs:string"',
    ' ida:Verified="maybe"',
    ' ida:From="2020-02-30"',
    ' Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"',
    ' Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"',
    ' Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5"',
    ' URI="#_a"',
    "<ds:Signature>",
    "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
    "<saml:Assertion>",
    "<saml:EncryptedAssertion>",
    "<saml:Attribute Name=",
    "<saml:AttributeValue>",
    "<saml:NameID>",
    "<md:EntityDescriptor entityID=",
    "<md:KeyDescriptor use=",
    "<samlp:StatusCode Value=",
    "urn:oasis:names:tc:SAML:2.0:status:Success",
    "SAMLRequest=",
    "&RelayState=",
    "&SigAlg=",
    "&Signature=",
    "%3D",
    "%2B",
    "%00",
    "====",
    "\x00",
    "\xff\xfe",
]


class Findings:
    """Counts and records what the target does with each input."""

    def __init__(self, target: str, crash_dir: Path, stats_path: Path, deadline: float) -> None:
        self.target = target
        self.crash_dir = crash_dir
        self.stats_path = stats_path
        self.deadline = deadline
        self.started = time.monotonic()
        self.executed = self.accepted = self.refused = self.skipped = self.crashes = 0
        self.signatures: dict[str, int] = {}
        self._next_flush = 0.0

    def run(self, function: Callable[[bytes], None], data: bytes, refusals: tuple, skip: type) -> None:
        self.executed += 1
        try:
            function(data)
            self.accepted += 1
        except skip:
            self.skipped += 1
        except refusals:
            self.refused += 1
        except Exception as exc:  # noqa: BLE001 - this is what the fuzzer is looking for
            self.record(data, exc)
        now = time.monotonic()
        if now >= self._next_flush:
            self.flush()
            self._next_flush = now + 0.5
        if now >= self.deadline:
            self.flush()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # libFuzzer has no clean stop from inside a run; the stats are written

    def record(self, data: bytes, exc: Exception) -> None:
        self.crashes += 1
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/federation/" in f.filename] or frames
        site = (
            f"{type(exc).__name__} at {'/'.join(ours[-1].filename.rsplit('/', 2)[-2:])}:{ours[-1].lineno}"
            if ours
            else ""
        )
        signature = hashlib.sha1(site.encode()).hexdigest()[:8]  # noqa: S324 - a file name, not security
        seen = self.signatures.get(signature, 0)
        self.signatures[signature] = seen + 1
        if seen < MAX_KEPT_PER_SIGNATURE:
            self.crash_dir.mkdir(parents=True, exist_ok=True)
            stem = f"{self.target}-{signature}-{hashlib.sha1(data).hexdigest()[:12]}"  # noqa: S324
            (self.crash_dir / f"{stem}.bin").write_bytes(data)
            (self.crash_dir / f"{stem}.txt").write_text(
                f"{site}\n\n" + "".join(traceback.format_exception(exc)), encoding="utf-8"
            )

    def flush(self) -> None:
        elapsed = time.monotonic() - self.started
        stats = {
            "executed": self.executed,
            "accepted": self.accepted,
            "refused": self.refused,
            "skipped": self.skipped,
            "crashes": self.crashes,
            "unique_crashes": len(self.signatures),
            "elapsed": elapsed,
        }
        tmp = self.stats_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats))
        tmp.replace(self.stats_path)


# --- the engines ---------------------------------------------------------------------------------------------


def _dictionary_file(path: Path) -> Path:
    def escape(token: str) -> str:
        return "".join(f"\\x{ord(ch):02x}" if ch in '"\\' or not 32 <= ord(ch) < 127 else ch for ch in token)

    path.write_text("".join(f'"{escape(t)}"\n' for t in DICTIONARY), encoding="ascii")
    return path


def run_atheris(
    one: Callable[[bytes], None], seeds_dir: Path, workdir: Path, target: str, crash_dir: Path, seconds: float
) -> None:
    import atheris

    corpus = workdir / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    crash_dir.mkdir(parents=True, exist_ok=True)
    args = [
        sys.argv[0],
        f"-max_total_time={int(seconds) + 30}",  # a backstop: Findings stops the run on time
        f"-max_len={MAX_INPUT_BYTES}",
        "-timeout=10",  # one input taking 10 s is a finding (libFuzzer writes it as timeout-*)
        "-rss_limit_mb=4096",
        f"-artifact_prefix={crash_dir}/{target}-",
        f"-dict={_dictionary_file(workdir / 'xml.dict')}",
        "-print_final_stats=1",
        str(corpus),
        str(seeds_dir),
    ]
    atheris.Setup(args, one)
    atheris.Fuzz()


def _mutate(data: bytearray, rng: random.Random, seeds: list[bytes]) -> bytearray:
    for _ in range(rng.randint(1, 8)):
        choice = rng.randrange(7)
        pos = rng.randrange(len(data) + 1)
        if choice == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif choice == 2 and data:
            del data[pos : pos + rng.randint(1, 64)]
        elif choice == 3 and data:
            start = rng.randrange(len(data))
            data[pos:pos] = data[start : start + rng.randint(1, 128)]
        elif choice in (4, 5):
            data[pos:pos] = rng.choice(DICTIONARY).encode("latin-1")
        else:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) + 1)
            data[pos:] = other[start:]
    return data[:MAX_INPUT_BYTES]


def run_mutations(one: Callable[[bytes], None], seeds_dir: Path) -> None:
    seeds = [p.read_bytes() for p in sorted(seeds_dir.iterdir())]
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    for seed in seeds:
        one(seed)
    while True:  # Findings.run exits the process when the time is up
        one(bytes(_mutate(bytearray(rng.choice(seeds)), rng, seeds)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.worker")
    parser.add_argument("target")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--now", required=True)
    parser.add_argument("--crash-dir", type=Path, required=True)
    parser.add_argument("--engine", choices=("atheris", "mutate"), required=True)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.seconds

    if args.engine == "atheris":
        import atheris

        with atheris.instrument_imports(include=["federation"]):
            from tests.fuzz import targets
    else:
        from tests.fuzz import targets

    ctx = targets.Context.load(args.workdir / "keys", datetime.fromisoformat(args.now))
    function = targets.TARGETS[args.target](ctx)
    findings = Findings(args.target, args.crash_dir, args.workdir / f"stats-{args.target}.json", deadline)

    def one(data: bytes) -> None:
        findings.run(function, data, targets.REFUSALS, targets.Skip)

    seeds_dir = args.workdir / "seeds" / args.target
    if args.engine == "atheris":
        run_atheris(one, seeds_dir, args.workdir, args.target, args.crash_dir, args.seconds)
    else:
        run_mutations(one, seeds_dir)


if __name__ == "__main__":
    main()
