"""The pieces of DSN text every driver shares: URL splitting, query parameters and their
converters, the secrets of a URL. Pure string work: no driver module is imported here."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import unquote

from pooltui.core.errors import KEY_PASSWORD, MASK, BadInput

DEFAULT_CONNECT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 86400.0  # a day: longer is no timeout at all, and 1e308 overflows the socket's
SECRET_PARAMS = frozenset({"password", "sslpassword", "ssl_key_password"})

Converter = Callable[[str], Any]


def is_ascii_number(text: str) -> bool:
    """ASCII digits only: ``'²'.isdigit()`` is True, yet ``int('²')`` raises."""
    return text.isascii() and text.isdigit()


def as_bool(value: str) -> bool:
    """A DSN flag: 1/true/yes/on or 0/false/no/off."""
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def positive(kind: type, high: float = MAX_TIMEOUT_S, low_ok: bool = False) -> Converter:
    """A converter for a number above 0 (or from 0 with ``low_ok``) and at most ``high``."""

    def convert(value: str) -> Any:
        try:
            number = kind(value.strip())
        except ValueError:
            raise ValueError("expected a number") from None
        if not (number >= 0 if low_ok else number > 0) or not number <= high:
            span = f"from 0 to {high:g}" if low_ok else f"above 0 and at most {high:g}"
            raise ValueError(f"expected a number {span}")
        return number

    return convert


def env_password(name: str) -> str | None:
    """The password in the environment variable ``name`` ("" = the driver reads none)."""
    return (os.environ.get(name) or None) if name else None


def split_query(query: str, kind: str, allowed: dict[str, Converter]) -> dict[str, Any]:
    """``a=1&b=2`` checked against the parameters the driver takes, each converted."""
    params: dict[str, Any] = {}
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        key, value = unquote(key), unquote(value)
        if key not in allowed:
            raise BadInput(
                f"The {kind} DSN has the unknown parameter {key!r}: use one of "
                + ", ".join(sorted(allowed))
                + "."
            )
        if key in params:
            raise BadInput(f"The {kind} DSN gives the parameter {key!r} twice: keep one.")
        try:
            params[key] = allowed[key](value)
        except ValueError as exc:
            shown = MASK if key in SECRET_PARAMS else value
            raise BadInput(
                f"The {kind} DSN parameter {key}={shown!r} is invalid ({exc}): correct it."
            ) from None
    return params


class UrlParts(NamedTuple):
    """A URL DSN cut into its parts; ``at``, ``slash`` and ``qmark`` say which separators it had."""

    scheme: str
    userinfo: str
    hostport: str
    path: str
    query: str
    at: bool
    slash: bool
    qmark: bool


def split_url(text: str) -> UrlParts | None:
    """The parts of a URL DSN; None without ``://``. Profiles strip passwords with it too.

    The user part ends at the *last* ``@``, so a password holding an unencoded ``/``, ``@`` or
    ``?`` stays in the user part (and out of every redacted form and error) instead of being
    taken for the host, the port, the database or the query. Only when what precedes the first
    ``?`` is a whole ``[user@]host[:port][/db]`` and a ``key=`` follows it is a later ``@`` part
    of a query value (``?application_name=me@laptop``).
    """
    scheme, sep, rest = text.partition("://")
    if not sep:
        return None
    head = rest.partition("?")[0]
    at = rest.rfind("@")
    if at > len(head) and _is_authority(head) and "=" in rest[len(head) + 1 : at]:
        at = head.rfind("@")
    userinfo, rest = (rest[:at], rest[at + 1 :]) if at >= 0 else ("", rest)
    rest, qmark, query = rest.partition("?")
    hostport, slash, path = rest.partition("/")
    return UrlParts(scheme, userinfo, hostport, path, query, at >= 0, bool(slash), bool(qmark))


def _is_authority(head: str) -> bool:
    """True when ``head`` reads as ``[user@]host[:port][/db]``: the port, if any, is digits."""
    hostport = head[head.rfind("@") + 1 :].partition("/")[0]
    if hostport.startswith("["):
        _, bracket, port = hostport.partition("]")
        return bool(bracket) and (not port or (port[:1] == ":" and is_ascii_number(port[1:])))
    _, colon, port = hostport.partition(":")
    return not colon or is_ascii_number(port)


def url_secrets(text: str) -> tuple[str, ...] | None:
    """The password and secret query values of a URL DSN, as written and decoded; None when
    the text is no URL."""
    url = split_url(text)
    if url is None:
        return None
    password = url.userinfo.partition(":")[2]
    found = {password, unquote(password)}
    for pair in url.query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) in SECRET_PARAMS:
            found |= {value, unquote(value)}
    return tuple(found)


def is_secret_param(part: str) -> bool:
    """True for a ``key=value`` query part whose key names a secret."""
    return unquote(part.partition("=")[0]).lower() in SECRET_PARAMS


def url_without_secrets(dsn: str) -> str:
    """A URL DSN without its password and secret parameters (removed, not masked)."""
    parts = split_url(dsn)
    if parts is None:
        return dsn
    userinfo = parts.userinfo.partition(":")[0] + "@" if parts.at else ""
    kept = [p for p in parts.query.split("&") if p and not is_secret_param(p)]
    return (
        f"{parts.scheme}://{userinfo}{parts.hostport}"
        + ("/" if parts.slash else "")
        + parts.path
        + (f"?{'&'.join(kept)}" if kept else "")
    )


def loose_secrets(text: str) -> tuple[str, ...]:
    """Whatever looks like ``password=...`` in text no driver can split."""
    return tuple(
        form for m in KEY_PASSWORD.finditer(text) for form in (m["value"], m["value"].strip("{}'"))
    )
