"""Redis clients from settings: one server by URL, or the primary that Redis Sentinel names.

One place decides how the project talks to Redis, so every party that shares state in it (the hub's
sessions and replay cache, the matching service's replay cache) fails the same way:

- short socket timeouts (a dead or hung Redis costs one timeout per request, then the caller fails closed);
- a command is retried at most once, at once, and only after a connection error, never after a timeout
  (a timed-out write may have happened; a refused connection has not). A pooled connection left stale by
  a restart, or by a Sentinel failover, is the case this covers: through Sentinel the retry reconnects to
  the primary Sentinel names *now*, so the first request after a failover reaches the new primary.

Settings, each name preceded by the party's prefix (none for the hub, `MATCHING_SERVICE_` for the matching
service):

    <P>REDIS_URL               redis://, rediss:// (TLS) or unix://; user and password may be in the URL
    <P>REDIS_SENTINELS         instead: host:port,host:port (the Sentinels; IPv6 as [::1]:26379)
    <P>REDIS_SENTINEL_MASTER   the name the Sentinels monitor the primary under (required with SENTINELS)
    <P>REDIS_PASSWORD          the primary's (and replicas') password, through Sentinel (optional)
    <P>REDIS_SENTINEL_PASSWORD the Sentinels' own password, if they require one (optional)

A mistake raises `RedisSettingsError` naming the setting, before anything is served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from federation.urls import redacted_url

DEFAULT_SOCKET_TIMEOUT = 0.5
DEFAULT_MAX_CONNECTIONS = 64


class RedisSettingsError(ValueError):
    """A Redis setting is missing, contradictory or malformed; the message names it, never a password."""


@dataclass(frozen=True)
class RedisSettings:
    """Where a party's Redis is: a URL, or Sentinels and the primary's name; neither means "in process"."""

    url: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.url or self.sentinels)

    def describe(self) -> str:
        """Where, for logs: the URL without credentials, or the Sentinels and the primary's name."""
        if self.url:
            return redacted_url(self.url)
        if self.sentinels:
            hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels)
            return f"sentinel://{hosts}/{self.sentinel_master}"
        return "in process"


def _sentinel_address(item: str, name: str) -> tuple[str, int]:
    host, sep, port = item.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisSettingsError(f"{name}: expected host:port[,host:port...], not {item.strip()!r}")
    return host, int(port)


def redis_settings(setting: Callable[[str], str | None], prefix: str = "") -> RedisSettings:
    """Read `<prefix>REDIS_URL` or `<prefix>REDIS_SENTINELS` (+ master, passwords); refuse contradictions."""
    names = {key: prefix + key for key in ("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER")}
    names |= {key: prefix + key for key in ("REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD")}
    value = {key: (setting(name) or "").strip() or None for key, name in names.items()}
    if value["REDIS_URL"] and value["REDIS_SENTINELS"]:
        raise RedisSettingsError(f"set {names['REDIS_URL']} or {names['REDIS_SENTINELS']}, not both")
    if value["REDIS_SENTINELS"]:
        items = [item for item in value["REDIS_SENTINELS"].split(",") if item.strip()]
        sentinels = tuple(_sentinel_address(item, names["REDIS_SENTINELS"]) for item in items)
        if not sentinels:
            raise RedisSettingsError(f"{names['REDIS_SENTINELS']}: no Sentinel address")
        if not value["REDIS_SENTINEL_MASTER"]:
            raise RedisSettingsError(
                f"{names['REDIS_SENTINELS']} is set: {names['REDIS_SENTINEL_MASTER']} must name the primary"
            )
        return RedisSettings(
            sentinels=sentinels,
            sentinel_master=value["REDIS_SENTINEL_MASTER"],
            password=value["REDIS_PASSWORD"],
            sentinel_password=value["REDIS_SENTINEL_PASSWORD"],
        )
    for key in ("REDIS_SENTINEL_MASTER", "REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD"):
        if value[key]:
            raise RedisSettingsError(f"{names[key]} is only read with {names['REDIS_SENTINELS']}")
    if value["REDIS_URL"] and urlsplit(value["REDIS_URL"]).scheme not in ("redis", "rediss", "unix"):
        raise RedisSettingsError(f"{names['REDIS_URL']}: expected a redis://, rediss:// or unix:// URL")
    return RedisSettings(url=value["REDIS_URL"])


def _retry_once() -> Retry:
    return Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def redis_from_url(
    url: str,
    *,
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
    socket_connect_timeout: float | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    **options: Any,
) -> redis.Redis:
    """A client on one Redis server; `options` go to `redis.Redis.from_url` as they are."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_connect_timeout or socket_timeout,
        max_connections=max_connections,
        retry=_retry_once(),
        **options,
    )


def redis_from_sentinels(
    settings: RedisSettings,
    *,
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> redis.Redis:
    """A client on the primary the Sentinels name. Every new connection asks them where it is, so after a
    failover the retry of a failed command (and every later connection) reaches the promoted replica."""
    # A Sentinel that does not answer is skipped for the next one at once (no retry of its own).
    sentinel_options: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    if settings.sentinel_password:
        sentinel_options["password"] = settings.sentinel_password
    sentinel = Sentinel(
        list(settings.sentinels),
        sentinel_kwargs=sentinel_options,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
    )
    return sentinel.master_for(
        settings.sentinel_master,
        password=settings.password,
        retry=_retry_once(),
        max_connections=max_connections,
    )


def redis_client(settings: RedisSettings, *, socket_timeout: float = DEFAULT_SOCKET_TIMEOUT) -> redis.Redis:
    """The client the settings describe (they must be `configured`)."""
    if settings.url:
        return redis_from_url(settings.url, socket_timeout=socket_timeout)
    if settings.sentinels:
        return redis_from_sentinels(settings, socket_timeout=socket_timeout)
    raise RedisSettingsError("no Redis is configured")
