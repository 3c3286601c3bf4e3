"""Issue 12, "words and numbers": counts agree with their nouns and carry separators, error
codes are said in words, a lost connection says who found it in words."""

from __future__ import annotations

from dataclasses import replace

from pooltui.core.errors import explain_error_kind
from pooltui.core.numbers import count, figure, ms, percent, rate, seconds, share
from pooltui.core.pool.instrumented import FOUND_DEAD_BY


def test_counts_agree_and_have_separators() -> None:
    assert count(1, "statement") == "1 statement"
    assert count(0, "error") == "0 errors"
    assert count(1116042, "error") == "1,116,042 errors"
    assert count(2, "process", "processes") == "2 processes"


def test_one_number_format_per_unit_with_separators() -> None:
    """The same decimals per unit wherever a figure is shown (the history table's cells, the
    CLI's text, the diagnosis): no 3.68e+03, no 1234.5678."""
    assert figure(1116042, "") == "1,116,042"
    assert (figure(3680.4, "req/s"), figure(9.94, "req/s")) == ("3,680", "9.9")
    assert (figure(0.0412, "ms"), figure(203.17, "ms"), figure(12345.6, "ms")) == (
        "0.04",
        "203.2",
        "12,346",
    )
    # the decimals of what a value rounds to, at each step
    assert (figure(99.996, "ms"), figure(999.96, "ms"), figure(99.96, "req/s")) == (
        "100.0",
        "1,000",
        "100",
    )
    assert figure(13.625, "connections") == "13.62" or figure(13.625, "connections") == "13.63"
    assert (ms(1234.5), ms(float("inf")), seconds(28800)) == (
        "1,234 ms",  # round half to even
        "unbounded",
        "28,800 s",
    )
    assert (rate(3680.0), rate(52.25, " req/s")) == ("3,680/s", "52.2 req/s")
    assert (percent(0.1788), percent(0.00002), percent(0), share(0.554)) == (
        "17.88%",
        "2.0e-05",
        "0.00%",
        "55%",
    )


def test_the_cli_and_the_diagnosis_take_the_shared_format() -> None:
    """Sentences the CLI prints from a diagnosis: a rate of thousands and a hold of seconds
    read with separators, never in scientific notation."""
    from pooltui.core.config import PoolConfig
    from pooltui.core.diagnosis.recommend import answers_from_mapping, recommend
    from pooltui.core.targets import driver_facts

    answers = answers_from_mapping({"threads_per_process": 128, "peak_rate_per_s": 3680.0})
    rec = recommend(answers, PoolConfig(), driver_facts("psycopg"))
    why = next(c.why for c in rec.changes if c.param == "maxconnections")
    assert "3,680/s x 20.00 ms" in why and "e+" not in why


def test_error_codes_are_said_in_words() -> None:
    assert explain_error_kind("AdminShutdown(57P01)") == (
        "the server ended the session (a shutdown or pg_terminate_backend) [57P01]"
    )
    assert explain_error_kind("OperationalError(2013)").startswith("the connection was lost")
    assert explain_error_kind("rejected").startswith("the pool refused")
    assert explain_error_kind("OperationalError(XX999)") == "OperationalError(XX999)"
    assert explain_error_kind("ValueError") == "ValueError"


def test_a_runs_error_table_is_said_in_words_with_its_step() -> None:
    """A run's errors are keyed by step ("query: OperationalError(08S01)", what MariaDB's and
    psqlODBC's drivers raise when the server goes): said in words, the step kept."""
    assert explain_error_kind("query: AdminShutdown(57P01)") == (
        "query: the server ended the session (a shutdown or pg_terminate_backend) [57P01]"
    )
    assert explain_error_kind("query: OperationalError(08S01)") == (
        "query: the connection to the server was lost (communication link failure) [08S01]"
    )
    assert explain_error_kind("connect: OperationalError(08003)") == (
        "connect: the connection was already closed [08003]"
    )
    assert explain_error_kind("query: Error(HY000)").endswith("[HY000]")
    assert "Error(" not in explain_error_kind("query: Error(HY000)")
    assert explain_error_kind("query: ValueError") == "query: ValueError"
    assert explain_error_kind("rejected").startswith("the pool refused")


def test_every_dbutils_caller_is_said_in_words() -> None:
    for words in FOUND_DEAD_BY.values():
        assert "found it dead" in words
        assert "_" not in words and "tough_method" not in words  # no DBUtils method name


# --- a profile made for another server ------------------------------------------------------


def test_a_mariadb_profile_on_postgresql_names_what_does_not_fit() -> None:
    from pooltui.core.profiles import find_profile, load_profile, profile_misfits
    from pooltui.core.targets import parse_dsn

    profile = load_profile(find_profile("batch-mariadb"))
    said = profile_misfits(profile, parse_dsn("postgresql://u@h/db"))
    assert "made for MySQL/MariaDB" in said and "not PostgreSQL" in said
    assert "SET SESSION max_statement_time = 60" in said and "the query" in said
    assert profile_misfits(profile, parse_dsn("mariadb://u@h/db")) == ""
    assert profile_misfits(replace(profile, dsn=None), parse_dsn("postgresql://u@h/db")) == ""


def test_the_cli_warns_before_using_a_profile_of_another_server(capsys, tmp_path) -> None:
    from pooltui.cli import main

    dsn = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["export", "--profile", "batch-mariadb", "--dsn", dsn, "--format", "toml"]) == 0
    out, err = capsys.readouterr()
    assert "warning: The profile batch-mariadb was made for MySQL/MariaDB" in err
    assert "setsession 'SET SESSION max_statement_time = 60'" in err
    assert out.startswith('name = "batch-mariadb"')  # a warning, not a refusal
