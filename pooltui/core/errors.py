"""Errors a user can cause, each one plain sentence with the CLI exit code it maps to."""

from __future__ import annotations


class PooltuiError(Exception):
    """Base: ``str(error)`` is shown to the user as it is, so it must name the problem and the fix."""

    exit_code = 1


class BadInput(PooltuiError):
    """The user asked for something impossible: a bad DSN, profile, parameter or answer."""

    exit_code = 2


class CannotConnect(PooltuiError):
    """The target could not be reached or refused us."""

    exit_code = 3


class RunFailed(PooltuiError):
    """Anything else that stopped the work: a file that cannot be written, a query that always fails."""

    exit_code = 1
