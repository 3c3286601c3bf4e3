"""Drivers whose DSN is a URL, ``scheme://user:password@host:port/database?params``: the
parsing, ``via`` and redaction they share (PostgreSQL and MySQL today)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from pooltui.core.drivers._dsn import (
    SECRET_PARAMS,
    Converter,
    env_password,
    is_ascii_number,
    split_query,
    split_url,
)
from pooltui.core.drivers.base import Dialect, Driver, Target, check_name_lengths, driver_facts
from pooltui.core.errors import MASK, BadInput


class UrlDriver(Driver):
    """A driver for a server reached by a URL DSN. Subclasses give ``params`` (the query
    parameters passed through, with their converters), ``server`` (their Dialect) and
    ``resolve`` (the driver's own reading of the parts)."""

    params: dict[str, Converter] = {}
    server: Dialect = Dialect()

    def dialect(self, target: Target) -> Dialect:
        return self.server

    def resolve(
        self, params: dict[str, Any], host: str, port: int | None, user: str, database: str
    ) -> tuple[str, int | None, str, str, dict[str, Any]]:
        """The host, port, user and database after the driver's own parameters, and the
        connect arguments they become (``params`` may be changed in place)."""
        return (
            host,
            port,
            user,
            database,
            {"host": host, "port": port, "database": database, "user": user},
        )

    def parse(self, text: str, password: str | None) -> Target:
        kind = self.name
        parts = split_url(text)
        if parts is None:
            raise BadInput(
                f"A {kind} DSN starts with {text.partition(':')[0]}://, as in {self.form}."
            )
        scheme, userinfo, hostport, path, query, at, slash, qmark = parts
        user_raw, colon, password_raw = userinfo.partition(":")
        if "," in hostport:
            raise BadInput(
                f"The {kind} DSN names several hosts: pooltui tunes one server, give one."
            )
        if hostport.startswith("["):
            host_raw, bracket, port_raw = hostport[1:].partition("]")
            if not bracket or (port_raw and not port_raw.startswith(":")):
                raise BadInput(f"The {kind} DSN has a malformed [IPv6] host: write [::1]:port.")
            port_raw = port_raw[1:]
        else:
            host_raw, _, port_raw = hostport.partition(":")
        port = None
        if port_raw:  # never quoted: with an '@' missing it is the password
            if not is_ascii_number(port_raw) or not 0 < int(port_raw) < 65536:
                raise BadInput(
                    f"The {kind} DSN's port (after the host's ':') is not a number "
                    "from 1 to 65535: correct it, and end a user:password part "
                    "with '@'."
                )
            port = int(port_raw)
        params = split_query(query, kind, self.params)
        host, user, database = unquote(host_raw), unquote(user_raw), unquote(path)
        secret = (
            (unquote(password_raw) if colon else None)
            or params.pop("password", None)
            or password
            or env_password(self.password_env)
        )
        host, port, user, database, base = self.resolve(params, host, port, user, database)
        check_name_lengths(kind, self.server, database=database, user=user)
        kwargs = {k: v for k, v in base.items() if v not in ("", None)} | params
        shown_query = (
            "&".join(
                (
                    f"{part.partition('=')[0]}={MASK}"
                    if unquote(part.partition("=")[0]) in SECRET_PARAMS
                    else part
                )
                for part in query.split("&")
            )
            if qmark
            else ""
        )
        redacted = (
            f"{scheme}://"
            + (f"{user_raw}{':' + MASK if colon else ''}@" if at else "")
            + hostport
            + (f"/{path}" if slash else "")
            + (f"?{shown_query}" if qmark else "")
        )
        return Target(
            kind=kind,
            backend=self.server.name,
            redacted=redacted,
            database=database,
            facts=driver_facts(self.module_name),
            host=host,
            port=port or self.server.default_port,
            user=user,
            password_env=self.password_env,
            has_password=bool(secret),
            _params=tuple(kwargs.items()),
            _password=secret,
        )

    def via(self, target: Target, host: str, port: int) -> Target:
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        dropped = {"host", "hostaddr", "port", "unix_socket"}
        kept = [(k, v) for k, v in target._params if k not in dropped]
        kept += [("host", host), ("port", port)]
        url = split_url(target.redacted)
        assert url is not None  # a URL target's redacted form is its URL
        query = "&".join(
            part
            for part in url.query.split("&")
            if part and unquote(part.partition("=")[0]) not in dropped
        )
        redacted = (
            f"{url.scheme}://"
            + (f"{url.userinfo}@" if url.at else "")
            + shown
            + f"/{url.path}"
            + (f"?{query}" if query else "")
        )
        return replace(target, host=host, port=port, redacted=redacted, _params=tuple(kept))
