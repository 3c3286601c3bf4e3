"""``pooltui export --format locust``: the measured pool and workload as a Locust locustfile.

When one machine cannot generate the load, pooltui does not grow a cluster of its own: the
locustfile builds the same PooledDB (the effective parameters, the session guards) in every
Locust worker process, runs the workload as Locust users, and fires acquire wait, query and hold
time as Locust request events, so Locust's statistics, CSV and web UI show them; at the end of
a test each worker prints its pool's own figures. It does not import pooltui: a host running
Locust needs only DBUtils, the driver and Locust.

Locust runs users as gevent greenlets in one thread per process, so a driver must yield to
gevent's loop while it waits for the server (``Driver.gevent_cooperation``); one that blocks it
(pyodbc, sqlite3: C calls on their own sockets or files) would make every user of the worker
wait for each query, which measures nothing, so the export refuses it with a sentence.
"""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from pooltui.core.config import SessionGuards, pooled_db_kwargs, validate
from pooltui.core.errors import BadInput
from pooltui.core.load import arrivals

if TYPE_CHECKING:
    from pooltui.core.profiles import Profile
    from pooltui.core.targets import Target

__all__ = ["EVENT_NAMES", "to_locust"]

# the request events every user fires: (request_type, name) as Locust's stats table shows them
EVENT_NAMES = (("pool", "acquire"), ("sql", "query"), ("pool", "hold"))
_TAG_PROBE = "pooltui-locust-tag"


def _tag_key(target: Target) -> str | None:
    """The connect argument that names a session on the server (application_name,
    program_name): the one whose value is the tag asked for."""
    kwargs = target.connect_kwargs(_TAG_PROBE)
    return next((key for key, value in kwargs.items() if value == _TAG_PROBE), None)


def _listed(items: list[str]) -> str:
    """A list literal, one item a line when it would not fit on one (the file stays within
    100 columns, as ruff checks pooltui's own)."""
    flat = repr(items)
    if len(flat) <= 70:
        return flat
    pad = " " * 12  # the items' indentation in to_locust's template, before its dedent
    return "[\n" + "".join(f"{pad}{item!r},\n" for item in items) + "        ]"


def to_locust(target: Target, profile: Profile) -> str:
    """A locustfile running ``profile``'s workload against ``target`` with its pool; BadInput
    for a driver that blocks gevent's loop."""
    from pooltui.core.export import _comment, _import_block, _split_imports, _version

    driver = target.driver
    if not driver.gevent_cooperation:
        raise BadInput(
            f"{driver.label or driver.name} blocks gevent's loop (its calls run in C without "
            "yielding), so every Locust user of a worker would wait for each query: pooltui "
            "exports a locustfile only for drivers that cooperate with gevent (psycopg 3, "
            "PyMySQL); measure this target with pooltui bench --processes W instead."
        )
    validation = validate(profile.pool, target.facts).require_ok()
    workload = profile.workload
    guards = SessionGuards.of(workload)
    timeout_ms = max(1, math.ceil(guards.statement_timeout_s * 1000))
    required, choices, optional = target.dialect.exported_guards(guards, timeout_ms)
    imports, body = _split_imports(target.python_connect_code(target.password_env))
    imports += [
        "import os",
        "import sys",
        "import time",
        "from dbutils.pooled_db import PooledDB",
    ]
    kwargs = pooled_db_kwargs(validation.effective)
    kwargs["setsession"] = None  # the guards and setsession run in connect(), then a commit
    setsession = list(validation.effective.setsession or ())
    pad = " " * 20  # the arguments' indentation in the template below, before its dedent
    arguments = "\n".join(f"{pad}{key}={value!r}," for key, value in kwargs.items())
    open_loop = arrivals.is_open_loop(workload.pattern) and workload.rate > 0
    pacing = "constant_throughput" if open_loop else "constant"
    imports.append(f"from locust import User, {pacing}, events, task")
    if open_loop:
        wait = (
            f"# the {workload.pattern} workload's {workload.rate:g} arrivals/s, spread over the "
            f"{workload.threads} users (-u): each user paces itself (Locust's users are closed "
            "loops)\n"
            f"            wait_time = constant_throughput({workload.rate / workload.threads!r})"
        )
    else:
        wait = f"wait_time = constant({workload.think_ms / 1000.0!r})  # the think time"
    header = [
        f"# A Locust locustfile exported by pooltui {_version()}: the measured DBUtils PooledDB",
        "# and workload, built anew in every Locust worker process.",
        *_comment(f"Target: {' '.join(target.redacted.split())}"),
        *_comment(
            f"Run: locust -f THIS_FILE --headless -u {workload.threads} -r {workload.threads} "
            f"-t {max(1, math.ceil(workload.duration_s))}s (add --master / --worker "
            "--master-host HOST to spread the users over machines; --csv PREFIX for the CSV)."
        ),
        *_comment(
            "Each request fires three Locust request events: pool/acquire (the wait for a "
            "connection), sql/query (the statement, failed if it raised) and pool/hold (from "
            "the checkout to the return, query and hold_ms included). At the end of a test "
            "every worker prints its pool's own figures."
        ),
        *_comment(
            f"gevent: {driver.gevent_cooperation}. Drivers whose calls block gevent's loop "
            "(pyodbc, sqlite3) are not exported: every user of a worker would wait for each "
            "query."
        ),
    ]
    if target.has_password:
        header += _comment(
            f"The password is read from the environment variable {target.password_env} on "
            "every worker host; pooltui never writes it."
        )
    if guards.read_only:
        header += _comment(
            "Sessions are read-only and bounded by a statement timeout, enforced by the "
            "server (export with allow_writes = true to let the query write)."
        )
    tag_key = _tag_key(target)
    tag_line = (
        f'connect_kwargs[{tag_key!r}] = f"pooltui-locust-{{os.getpid()}}"  # names the sessions'
        if tag_key
        else ""
    )
    code = textwrap.dedent(f"""\
        QUERY = {workload.query!r}
        HOLD_S = {workload.hold_ms / 1000.0!r}
        # the session guards, run on each new connection: every one of GUARDS must work, the
        # first of GUARD_CHOICES the server accepts is enough, OPTIONAL_GUARDS are skipped
        # where the server lacks them
        GUARDS = {_listed(required)}
        GUARD_CHOICES = {_listed(choices)}
        OPTIONAL_GUARDS = {_listed(optional)}
        SETSESSION = {setsession!r}
        SESSION_ID_SQL = {target.dialect.session_id_sql!r}


        class _Figures:
            \"\"\"This worker's pool figures (one thread of greenlets: plain counters).\"\"\"

            checkouts = errors = connects = checked_out = peak_checked_out = 0
            acquire_max_ms = 0.0
            sessions: list = []


        def _run_all(cursor, statements):
            for sql in statements:
                cursor.execute(sql)


        def connect():
            \"\"\"A new connection, bound by the guards and setsession, then committed (so the
            pool's rollback on return does not undo them).\"\"\"
            con = creator.connect(**connect_kwargs)
            cursor = con.cursor()
            try:
                _run_all(cursor, GUARDS)
                con.commit()
                for index, sql in enumerate(GUARD_CHOICES):
                    try:
                        cursor.execute(sql)
                        con.commit()
                        break
                    except Exception:
                        con.rollback()
                        if index == len(GUARD_CHOICES) - 1:
                            raise
                for sql in OPTIONAL_GUARDS:
                    try:
                        cursor.execute(sql)
                        con.commit()
                    except Exception:
                        con.rollback()
                _run_all(cursor, SETSESSION)
                if SESSION_ID_SQL:
                    cursor.execute(SESSION_ID_SQL)
                    _Figures.sessions.append(cursor.fetchone()[0])
                con.commit()
            finally:
                cursor.close()
            _Figures.connects += 1
            return con


        connect.dbapi = creator  # DBUtils reads threadsafety and the errors off it
        _POOL = None


        def pool():
            \"\"\"This worker's PooledDB, built on its first user (never on the master).\"\"\"
            global _POOL
            if _POOL is None:
                _POOL = PooledDB(
                    connect,
{arguments}
                )
            return _POOL


        def _fire(environment, request_type, name, seconds, length=0, exception=None):
            environment.events.request.fire(
                request_type=request_type,
                name=name,
                response_time=seconds * 1000.0,
                response_length=length,
                exception=exception,
                context={{}},
            )


        class PooledDBUser(User):
            \"\"\"One caller of the pool: acquire, query, hold, release.\"\"\"

            {wait}

            @task
            def request(self):
                environment = self.environment
                started = time.perf_counter()
                con = pool().connection()
                acquired = time.perf_counter()
                _Figures.checkouts += 1
                _Figures.checked_out += 1
                _Figures.peak_checked_out = max(_Figures.peak_checked_out, _Figures.checked_out)
                _Figures.acquire_max_ms = max(_Figures.acquire_max_ms, (acquired - started) * 1e3)
                _fire(environment, "pool", "acquire", acquired - started)
                try:
                    cursor = con.cursor()
                    try:
                        cursor.execute(QUERY)
                        rows = len(cursor.fetchall()) if cursor.description else 0
                    except Exception as exc:
                        _Figures.errors += 1
                        _fire(environment, "sql", "query", time.perf_counter() - acquired, 0, exc)
                        return
                    finally:
                        cursor.close()
                    _fire(environment, "sql", "query", time.perf_counter() - acquired, rows)
                    if HOLD_S:
                        time.sleep(HOLD_S)  # gevent's sleep: the other users run meanwhile
                finally:
                    con.close()  # back to the pool
                    _Figures.checked_out -= 1
                    _fire(environment, "pool", "hold", time.perf_counter() - acquired)


        @events.test_stop.add_listener
        def _close_pool(environment, **_kwargs):
            \"\"\"Print this worker's pool figures and close every connection it opened.\"\"\"
            global _POOL
            if _POOL is None:
                return
            idle = len(getattr(_POOL, "_idle_cache", ()))
            print(
                f"pooltui pool stats (worker pid {{os.getpid()}}): checkouts "
                f"{{_Figures.checkouts}}, connects {{_Figures.connects}}, peak checked out "
                f"{{_Figures.peak_checked_out}}, idle at the end {{idle}}, query errors "
                f"{{_Figures.errors}}, longest acquire {{_Figures.acquire_max_ms:.2f}} ms; "
                f"server sessions {{sorted(_Figures.sessions)}}",
                file=sys.stderr,
                flush=True,
            )
            _POOL.close()
            _POOL = None


        @events.quitting.add_listener
        def _close_at_exit(environment, **_kwargs):
            _close_pool(environment)
        """)
    parts = [
        "\n".join(header),
        _import_block(imports),
        "\n".join(body).strip("\n") + ("\n" + tag_line if tag_line else ""),
        code.rstrip("\n"),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def loopback_commands(
    locustfile: Path, *, port: int, workers: int, users: int, run_s: float, csv_prefix: Path
) -> tuple[list[str], list[str]]:
    """The command lines of a headless Locust master (waiting for ``workers``, ``users``
    spawned at once, ``run_s`` rounded up, CSV at ``csv_prefix``) and of one worker, both on
    loopback: what tests/test_locust.py and bench/locust_vs_fleet.py run, and what a user runs
    on one host before spreading the workers over several (``--master-host`` then names the
    master's address)."""
    locust = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    master = [
        *locust,
        "--headless",
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(port),
        "--expect-workers",
        str(workers),
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{math.ceil(run_s)}s",
        "--csv",
        str(csv_prefix),
    ]
    worker = [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return master, worker
