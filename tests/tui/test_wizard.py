"""The diagnosis wizard walked with the keyboard from its first step to a verified recommendation.

The screen is pushed onto a tiny host app; the measurement and the verification run against the
real PostgreSQL and MariaDB (short bursts, at most 8 connections). What a person would see is
read from the screenshot's text; what the wizard hands back is compared with diagnosis.recommend
for the answers that were typed.
"""

from __future__ import annotations

import html
import re

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, SelectionList

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.recommend import Recommendation, recommend
from pooltui.core.targets import parse_dsn
from pooltui.tui.screens.wizard import WizardScreen

from .helpers import NO_RESULT, Host, until

REFUSED_DSN = "postgresql://postgres@127.0.0.1:1/test"


async def screen_text(pilot: Pilot) -> str:
    """What the terminal shows once pending updates are painted, whitespace collapsed."""
    await pilot.pause()
    svg = pilot.app.export_screenshot()
    text = html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
    return " ".join(text.split())


def step_of(wizard: WizardScreen) -> str:
    return wizard.query_one("#steps").current


async def type_into(pilot: Pilot, wizard: WizardScreen, name: str, text: str) -> None:
    """Focus the answer's field, clear it and type, key by key."""
    field = wizard.query_one(f"#a-{name}", Input)
    field.focus()
    await pilot.press("home", "ctrl+k", *text)
    assert field.value == text


async def next_step(pilot: Pilot, wizard: WizardScreen, expected: str) -> None:
    await pilot.press("ctrl+n")
    await until(pilot, lambda: step_of(wizard) == expected, timeout=10)


async def walk_answers(pilot: Pilot, wizard: WizardScreen) -> None:
    """Steps 2-5: 6 threads, 100/s in bursts, hold 20 ms, exhaustion; the rest as prefilled."""
    await next_step(pilot, wizard, "application")
    await type_into(pilot, wizard, "threads_per_process", "6")
    await next_step(pilot, wizard, "load")
    await type_into(pilot, wizard, "peak_rate_per_s", "100")
    shape = wizard.query_one("#a-shape", Select)
    shape.focus()
    await pilot.press("enter", "down", "enter")  # open the list, steady -> bursty, choose
    await until(pilot, lambda: shape.value == "bursty", timeout=10)
    await next_step(pilot, wizard, "queries")
    await type_into(pilot, wizard, "hold_ms", "20")
    await next_step(pilot, wizard, "symptoms")
    symptoms = wizard.query_one("#a-symptoms", SelectionList)
    symptoms.focus()
    await pilot.press("space")  # the first symptom, exhaustion
    await until(pilot, lambda: symptoms.selected == ["exhaustion"], timeout=10)
    await next_step(pilot, wizard, "result")


@pytest.mark.parametrize("dsn_fixture", ["pg_dsn", "mysql_dsn"])
async def test_from_first_question_to_verified_recommendation(request, dsn_fixture):
    target = parse_dsn(request.getfixturevalue(dsn_fixture))
    current = PoolConfig(maxconnections=2, blocking=False)
    wizard = WizardScreen(target, current, Workload(threads=4), verify_duration_s=1.5)
    host = Host(wizard)
    async with host.run_test(size=(120, 46)) as pilot:
        await until(pilot, lambda: wizard.figures is not None or wizard.measure_error is not None)
        assert wizard.measure_error is None
        text = await screen_text(pilot)
        assert "step 1 of 6" in text and "max_connections" in text
        assert wizard.figures.server.product in text
        assert (
            wizard.query_one("#a-connect_ms", Input).value == f"{wizard.figures.connect_ms:.3g}"
        )  # the measured figure is prefilled

        await walk_answers(pilot, wizard)

        answers = wizard.answers()
        assert (
            answers.threads_per_process,
            answers.peak_rate_per_s,
            answers.shape,
            answers.hold_ms,
            answers.symptoms,
        ) == (6, 100.0, "bursty", 20.0, frozenset({"exhaustion"}))
        assert {
            "threads_per_process",
            "peak_rate_per_s",
            "shape",
            "hold_ms",
            "symptoms",
        }.isdisjoint(answers.assumed)
        assert {"processes", "goal", "connect_ms"} <= answers.assumed
        expected = recommend(answers, current, target.facts, wizard.measurements())
        assert wizard.recommendation == expected
        assert expected.config.blocking is True
        text = await screen_text(pilot)
        assert "step 6 of 6" in text and "Changes" in text
        for change in expected.changes:
            assert change.param in text
        assert "connect_ms" not in wizard.assumed_names(answers)  # measured, not assumed

        await pilot.press("v")
        await until(
            pilot,
            lambda: (
                wizard.verified is not None and len(wizard.verified) == 2 and not wizard.verifying
            ),
        )
        before, after = wizard.verified["current"], wizard.verified["recommended"]
        assert before.config.blocking is False and after.config.blocking is True
        assert before.rejections > 0 and after.rejections == 0
        text = await screen_text(pilot)
        assert "current measured" in text and "recommended measured" in text
        assert "Verified" in text

        await pilot.press("a")
        await until(pilot, lambda: host.result is not NO_RESULT, timeout=10)
    assert isinstance(host.result, Recommendation)
    assert host.result is wizard.recommendation


async def test_an_unreachable_target_leaves_the_wizard_usable():
    target = parse_dsn(REFUSED_DSN)
    wizard = WizardScreen(target, PoolConfig(), Workload(threads=8))
    host = Host(wizard)
    async with host.run_test(size=(120, 46)) as pilot:
        await until(pilot, lambda: wizard.measure_error is not None)
        text = await screen_text(pilot)
        assert "Could not measure" in text and "127.0.0.1:1" in text
        assert "goes on with your answers" in text
        for step in ("application", "load", "queries", "symptoms", "result"):
            await next_step(pilot, wizard, step)
        rec = wizard.recommendation
        assert rec is not None
        assert {"connect_ms", "query_ms"} <= set(wizard.assumed_names(wizard.answers()))
        assert not any("measured on the target" in text for text in rec.assumptions)
        await pilot.press("a")
        await until(pilot, lambda: host.result is not NO_RESULT, timeout=10)
    assert host.result is rec


async def test_impossible_answers_are_refused_in_their_step(sqlite_dsn):
    wizard = WizardScreen(parse_dsn(sqlite_dsn), PoolConfig(), Workload(threads=8))
    host = Host(wizard)
    async with host.run_test(size=(120, 46)) as pilot:
        await until(pilot, lambda: wizard.figures is not None or wizard.measure_error is not None)
        await next_step(pilot, wizard, "application")

        await type_into(pilot, wizard, "threads_per_process", "0")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert step_of(wizard) == "application"
        assert "threads_per_process must be at least 1" in await screen_text(pilot)
        assert wizard.query_one("#a-threads_per_process", Input).has_class("-invalid")

        await type_into(pilot, wizard, "threads_per_process", "2")
        await next_step(pilot, wizard, "load")
        await type_into(pilot, wizard, "peak_rate_per_s", "1000")  # 2 threads, 20 ms holds
        await pilot.press("enter")
        await pilot.pause()
        assert step_of(wizard) == "load"
        assert "could never keep up" in await screen_text(pilot)

        await type_into(pilot, wizard, "peak_rate_per_s", "10")
        await next_step(pilot, wizard, "queries")
        assert "could never keep up" not in (await screen_text(pilot))
        await pilot.press("ctrl+b")
        await until(pilot, lambda: step_of(wizard) == "load", timeout=10)
        await pilot.press("escape")
        await until(pilot, lambda: host.result is not NO_RESULT, timeout=10)
    assert host.result is None


async def test_a_representative_query_is_timed_and_used(pg_dsn):
    target = parse_dsn(pg_dsn)
    wizard = WizardScreen(target, PoolConfig(), Workload(threads=8))
    host = Host(wizard)
    async with host.run_test(size=(120, 46)) as pilot:
        await until(pilot, lambda: wizard.figures is not None)
        for step in ("application", "load", "queries"):
            await next_step(pilot, wizard, step)
        query = "SELECT count(*) FROM pg_class"
        await type_into(pilot, wizard, "query", query)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: query in wizard.timed)
        timed = wizard.timed[query]
        assert wizard.query_one("#a-query_ms", Input).value == f"{timed:.3g}"
        assert wizard.measurements().query_ms == timed
        assert "Measured:" in await screen_text(pilot)
        await next_step(pilot, wizard, "symptoms")
        await next_step(pilot, wizard, "result")
        assert any(
            "query_ms is the" in text and "measured" in text
            for text in wizard.recommendation.assumptions
        )


# --- no dead ends ---------------------------------------------------------------------------


async def test_batch_mariadb_leaves_step_1_and_a_blocking_answer_is_changed_where_shown(
    mysql_dsn,
):
    from pooltui.core.profiles import find_profile, load_profile

    profile = load_profile(find_profile("batch-mariadb"))
    wizard = WizardScreen(parse_dsn(mysql_dsn), profile.pool, profile.workload)
    host = Host(wizard)
    async with host.run_test(size=(120, 46)) as pilot:
        await until(pilot, lambda: wizard.figures is not None or wizard.measure_error is not None)
        figures = wizard.figures
        assert figures is not None and figures.query == profile.workload.query  # not SELECT 1
        hold = float(wizard.query_one("#a-hold_ms", Input).value)
        assert hold == round(profile.workload.hold_ms + figures.query_ms, 1)
        await next_step(pilot, wizard, "application")  # step 1 is left
        await next_step(pilot, wizard, "load")
        await next_step(pilot, wizard, "queries")
        # 4 threads cannot keep up with the assumed 50/s at a ~230 ms hold: refused on the
        # rate's own step, with the rate focused to change it
        await pilot.press("ctrl+n")
        await until(pilot, lambda: step_of(wizard) == "load", timeout=10)
        assert wizard.focused is wizard.query_one("#a-peak_rate_per_s")
        text = await screen_text(pilot)
        assert "could never keep up" in text and "peak_rate_per_s = 50 (assumed" in text
        await type_into(pilot, wizard, "peak_rate_per_s", "5")
        for step in ("queries", "symptoms", "result"):
            await next_step(pilot, wizard, step)
        assert wizard.recommendation is not None


async def test_answers_are_remembered_and_apply_sets_the_load_verify_used(sqlite_dsn):
    from .helpers import Console

    console = Console(sqlite_dsn)
    async with console.run(size=(120, 46)) as pilot:
        await pilot.press("d")
        await until(pilot, lambda: isinstance(console.app.screen, WizardScreen))
        wizard = console.app.screen
        assert isinstance(wizard, WizardScreen)
        await next_step(pilot, wizard, "application")
        await type_into(pilot, wizard, "threads_per_process", "6")
        await next_step(pilot, wizard, "load")
        await next_step(pilot, wizard, "queries")
        await next_step(pilot, wizard, "symptoms")
        symptoms = wizard.query_one("#a-symptoms", SelectionList)
        assert str(symptoms.get_option_at_index(0).prompt) == "[ ] exhaustion"
        symptoms.focus()
        await pilot.press("space")
        await until(pilot, lambda: symptoms.selected == ["exhaustion"], timeout=10)
        assert str(symptoms.get_option_at_index(0).prompt) == "[x] exhaustion"
        await pilot.press("escape")
        await until(pilot, lambda: console.app.screen is console.app.tune)

        await pilot.press("d")  # opened again: the answers given are there
        await until(pilot, lambda: isinstance(console.app.screen, WizardScreen))
        again = console.app.screen
        assert isinstance(again, WizardScreen) and again is not wizard
        await pilot.pause()
        assert again.query_one("#a-threads_per_process", Input).value == "6"
        assert again.query_one("#a-symptoms", SelectionList).selected == ["exhaustion"]
        for step in ("application", "load", "queries", "symptoms", "result"):
            await next_step(pilot, again, step)
        answers = again.answers()
        assert answers.threads_per_process == 6 and "threads_per_process" not in answers.assumed
        await pilot.press("a")
        await until(pilot, lambda: console.app.screen is console.app.tune)
        workload = console.panel.workload
        assert (workload.pattern, workload.rate, workload.threads) == (
            "poisson",
            answers.peak_rate_per_s / answers.processes,
            6,
        )


# --- the wizard and `diagnose --profile` read a profile alike ---------------------------------


@pytest.mark.parametrize(
    ("name", "dsn_fixture", "given"),
    [("web-api", "pg_dsn", ()), ("batch-mariadb", "mysql_dsn", ("--rate", "5"))],
)
async def test_the_wizard_and_diagnose_take_the_same_answers_from_a_profile(
    capsys, request, name, dsn_fixture, given
):
    """Both read the profile's workload through workload_answers, each with the profile query's
    time it measured itself; the CLI judges the profile's pool as the current one and says
    which figures came from the profile and which were measured."""
    import json

    from pooltui.cli import main
    from pooltui.core.diagnosis.recommend import workload_answers
    from pooltui.core.profiles import find_profile, load_profile
    from pooltui.tui.screens.wizard_views import shown

    dsn = request.getfixturevalue(dsn_fixture)
    profile = load_profile(find_profile(name))
    w = profile.workload
    wizard = WizardScreen(parse_dsn(dsn), profile.pool, w)
    async with Host(wizard).run_test(size=(120, 46)) as pilot:
        await until(pilot, lambda: wizard.figures is not None or wizard.measure_error is not None)
        figures = wizard.figures
        assert figures is not None and figures.query == w.query
        prefilled = workload_answers(w, figures.query_ms)
        for answer, value in prefilled.items():
            field = wizard.query_one(f"#a-{answer}", Input | Select)
            assert field.value == shown(value), answer

    argv = ["diagnose", "--profile", name, "--dsn", dsn, *given]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    cli = data["from_profile"]
    given_names = {"peak_rate_per_s"} if given else set()
    assert set(cli) == set(prefilled) - given_names  # the same answers, from the same profile
    assert cli["threads_per_process"] == w.threads and cli["query"] == w.query
    assert data["measured"]["query"] == w.query and data["measured"]["representative"]
    query_ms = data["measured"]["query_ms"]
    assert cli["hold_ms"] == pytest.approx(w.hold_ms + query_ms, abs=0.051)
    if w.think_ms > 0:  # a closed loop with think time: the rate its threads offer
        expected = w.threads * 1000 / (cli["hold_ms"] + w.think_ms)
        assert cli["peak_rate_per_s"] == pytest.approx(expected, rel=0.01)
    assert data["answers"]["threads_per_process"] == w.threads
    assert not set(cli) & set(data["assumed"])
    assert data["current"] == profile.pool.as_dict()  # the profile's pool is judged

    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"From the profile {name}'s workload: threads_per_process = {w.threads}" in text
    assert "Measured: connect" in text and f"the pool of profile {name}" in text


async def test_diagnose_refuses_batch_mariadb_s_default_rate_as_the_wizard_does(capsys, mysql_dsn):
    """4 threads holding ~230 ms cannot keep up with the assumed 50/s: the wizard refuses it on
    the rate's step (above), the CLI names the default and the option to give instead."""
    from pooltui.cli import main

    code = main(["diagnose", "--profile", "batch-mariadb", "--dsn", mysql_dsn])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "could never keep up" in err
    assert "peak_rate_per_s (50), processes (1) are defaults" in err
    assert "give --rate" in err and "Traceback" not in err


async def test_a_profiles_default_select_1_is_timed_for_its_hold_by_wizard_and_diagnose(
    capsys, pg_dsn
):
    """bursty-workers runs the default SELECT 1: it is the profile's own query, so both the
    wizard and `diagnose --profile` time it (several samples, the median) and prefill the
    hold with its time, not with the default query_ms; yet a round trip is no application
    query, so it is not query_ms."""
    import json

    from pooltui.cli import main
    from pooltui.core.diagnosis.verify import QUERY_SAMPLES
    from pooltui.core.profiles import find_profile, load_profile

    profile = load_profile(find_profile("bursty-workers"))
    w = profile.workload
    assert w.query == "SELECT 1"
    wizard = WizardScreen(parse_dsn(pg_dsn), profile.pool, w)
    async with Host(wizard).run_test(size=(120, 46)) as pilot:
        await until(pilot, lambda: wizard.figures is not None or wizard.measure_error is not None)
        figures = wizard.figures
        assert figures is not None and figures.query == "SELECT 1"
        assert figures.samples == QUERY_SAMPLES
        hold = float(wizard.query_one("#a-hold_ms", Input).value)
        assert hold == round(w.hold_ms + figures.query_ms, 1)
        assert wizard.query_one("#a-query", Input).value == ""  # no application query
        measurements = wizard.measurements()
        assert measurements is not None and measurements.query_ms is None
        assert f"(median of {QUERY_SAMPLES})" in await screen_text(pilot)

    argv = ["diagnose", "--profile", "bursty-workers", "--dsn", pg_dsn, "--rate", "250"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    measured = data["measured"]
    assert measured["query"] == "SELECT 1" and measured["samples"] == QUERY_SAMPLES
    assert measured["representative"] is False and "query_ms" in data["assumed"]
    assert data["from_profile"]["hold_ms"] == pytest.approx(
        w.hold_ms + measured["query_ms"], abs=0.051
    )
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"(medians of {QUERY_SAMPLES})" in text
    assert "the query's" in text and "measured)" in text  # the hold's parts: measured
