"""`pooltui` without a subcommand: the console, started like every other command from the
profile (or the demo profile) with the ``--set`` overrides laid over it."""

from __future__ import annotations

import argparse

from pooltui.cli.common import resolve_settings, resolve_target
from pooltui.core.errors import PooltuiError
from pooltui.core.profiles import Profile, find_profile, load_profile


def starting_profile(dsn: str | None) -> Profile:
    """Without a profile: the demo profile for the demo database (when it ships), else an
    untitled one, since the demo's settings say nothing about another database."""
    if dsn is None:
        try:
            return load_profile(find_profile("demo"))
        except PooltuiError:
            pass
    return Profile(name="untitled")


def run(args: argparse.Namespace) -> int:
    """Resolve the target and settings, run the console, give its exit code; however it ends,
    the session's pool is closed."""
    settings = resolve_settings(args, default=lambda: starting_profile(args.dsn))
    target = resolve_target(args, settings.dsn)
    from pooltui.core.host.hosted import start_pool_host
    from pooltui.tui.app import make_app  # textual only when the console is asked for

    app = make_app(target, settings, dsn=args.dsn or settings.dsn)
    start_pool_host()  # its imports run while the console draws, not in the first burst
    try:
        app.run()
    finally:
        app.session.close()
    return app.return_code or 0
