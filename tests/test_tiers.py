"""The tier markers tests/conftest.py sets: what marks a test ``db`` and what does not."""

from __future__ import annotations

import pytest


def markers(request: pytest.FixtureRequest) -> set[str]:
    return {mark.name for mark in request.node.iter_markers()}


def test_a_sqlite_test_is_in_the_pure_tier(sqlite_dsn, request):
    assert sqlite_dsn.startswith("sqlite:///")
    assert not {"db", "tui", "snapshot"} & markers(request)


@pytest.mark.parametrize("fixture", ["pg_dsn", "odbc_mysql_dsn", "private_mariadb"])
def test_a_server_fixture_named_by_a_parameter_marks_the_test_db(fixture, request):
    # the test would read it with request.getfixturevalue(fixture); the marker is set before
    assert "db" in markers(request) and "tui" not in markers(request)


@pytest.mark.parametrize("fixture", ["sqlite_dsn"])
def test_a_sqlite_fixture_named_by_a_parameter_does_not(fixture, request):
    assert "db" not in markers(request)
