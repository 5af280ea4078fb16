"""Every setting the code reads from its environment is in the one settings table of docs/operations.md,
and every setting the table names is read by the code.

The code is read, not run: `runtime.setting("X")`, `os.environ.get("X")`, `environ["X"]`, `getenv("X")`,
the same with a module constant holding the name, the Redis settings under each prefix
(federation/redis_client.py), and the `${X}` variables of the federation configs we ship. WSGI environ keys
(read from a request's environ with the same calls) are not settings.
"""

from __future__ import annotations

import re

from federation.runtime import REPO_DIR

PACKAGES = ("federation", "hub", "matching_service", "stub_idps", "relying_party_example", "hub_client", "keys")
NAME = r"[A-Z][A-Z0-9_]*[A-Z0-9]"
READ = r"(?:setting|\benv(?:iron)?\.get|\bgetenv|\benviron\[)\(?\s*"
LITERAL = re.compile(rf"""{READ}["']({NAME})["']""")
BY_CONSTANT = re.compile(rf"{READ}({NAME})\b")
CONSTANT = re.compile(rf"""^({NAME})\s*=\s*["']({NAME})["']""", re.M)
REDIS_PREFIX = re.compile(rf"""settings_prefix=["']({NAME}_)["']""")
REDIS_SETTINGS = ("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD")
CONFIG_VARIABLE = re.compile(rf"\$\{{({NAME})")
WSGI_KEYS = frozenset({"CONTENT_LENGTH", "CONTENT_TYPE", "REMOTE_ADDR", "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING"})
OPERATIONS = REPO_DIR / "docs" / "operations.md"


def settings_read_by_the_code() -> dict[str, set[str]]:
    """Each setting's name, with the files that read it."""
    files = [path for package in PACKAGES for path in (REPO_DIR / package).rglob("*.py")]
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    constants: dict[str, set[str]] = {}
    for text in texts.values():
        for constant, value in CONSTANT.findall(text):
            constants.setdefault(constant, set()).add(value)
    found: dict[str, set[str]] = {}
    prefixes = {""}
    for path, text in texts.items():
        where = str(path.relative_to(REPO_DIR))
        names = set(LITERAL.findall(text))
        names |= {value for constant in BY_CONSTANT.findall(text) for value in constants.get(constant, ())}
        for name in names:
            found.setdefault(name, set()).add(where)
        prefixes |= set(REDIS_PREFIX.findall(text))
    for prefix in prefixes:
        for name in REDIS_SETTINGS:
            found.setdefault(prefix + name, set()).add("federation/redis_client.py")
    for config in (REPO_DIR / "federation").rglob("*.yaml"):
        for name in CONFIG_VARIABLE.findall(config.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(config.relative_to(REPO_DIR)))
    return {name: where for name, where in found.items() if name not in WSGI_KEYS and not name.startswith("HTTP_")}


def settings_in_the_table() -> set[str]:
    """The names in the first column of the table under "# Settings"."""
    lines = OPERATIONS.read_text(encoding="utf-8").splitlines()
    names: set[str] = set()
    for line in lines[lines.index("# Settings") + 1 :]:
        if line.startswith("# "):  # the next part of the page
            break
        if line.startswith("| `"):
            names |= set(re.findall(rf"`({NAME})`", line.split("|")[1]))
    return names


def test_the_reader_finds_settings_of_every_kind():
    read = settings_read_by_the_code()
    for name in ("HUB_URL", "REDIS_URL", "MATCHING_SERVICE_REDIS_SENTINELS", "LOG_FORMAT", "SERVE_PORT", "VAR_DIR"):
        assert name in read, name
    assert "REMOTE_ADDR" not in read


def test_every_setting_the_code_reads_is_in_the_table():
    table = settings_in_the_table()
    missing = {name: sorted(where) for name, where in settings_read_by_the_code().items() if name not in table}
    assert not missing, f"add these to the settings table of docs/operations.md: {missing}"


def test_every_setting_in_the_table_is_read_by_the_code():
    stale = settings_in_the_table() - set(settings_read_by_the_code())
    assert not stale, f"the settings table names settings no code reads: {sorted(stale)}"
