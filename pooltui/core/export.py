"""Exporters: a profile as TOML, and the measured pool as Python code to paste into an app.

The Python export passes DBUtils the *effective* parameters (after its own normalising), so the
pool the user builds is the pool that was measured, and it never contains a password: the code
reads it from the environment variable the target names.
"""

from __future__ import annotations

import re
import sys
import textwrap
from typing import TYPE_CHECKING

from pooltui.core.config import PoolConfig, pooled_db_kwargs, validate
from pooltui.core.profiles import Profile, profile_to_toml

if TYPE_CHECKING:
    from pooltui.core.targets import Target

_IMPORT = re.compile(r"^(import [\w.]+|from [\w.]+ import [\w, ]+)$")


def _version() -> str:
    """pooltui's version, also when an old editable install imports it as a namespace package."""
    import pooltui

    version = getattr(pooltui, "__version__", None)
    if version is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            version = dist_version("pooltui")
        except PackageNotFoundError:
            version = "unknown"
    return version


def to_locust(target: Target, profile: Profile) -> str:
    """A Locust locustfile building the measured pool in every Locust worker and running the
    profile's workload as Locust users (core/locustfile.py)."""
    from pooltui.core.locustfile import to_locust as render

    return render(target, profile)


def to_toml(profile: Profile) -> str:
    """A profile file that ``--profile`` loads back equal (any DSN password is left out)."""
    return profile_to_toml(profile)


def _split_imports(code: str) -> tuple[list[str], list[str]]:
    """Hoist the leading import lines of the target's connect code so all imports sit on top."""
    lines = code.strip("\n").splitlines()
    imports: list[str] = []
    i = 0
    while i < len(lines) and (not lines[i].strip() or _IMPORT.match(lines[i])):
        if lines[i].strip():
            imports.append(lines[i])
        i += 1
    return imports, lines[i:]


def _import_block(imports: list[str]) -> str:
    """Standard library first, then third-party, each sorted: what ruff's isort expects."""

    def module_of(line: str) -> str:
        return line.split()[1].split(".")[0]

    def order(line: str) -> tuple[bool, str]:
        return line.startswith("from "), module_of(line)

    stdlib = sorted({i for i in imports if module_of(i) in sys.stdlib_module_names}, key=order)
    other = sorted({i for i in imports if module_of(i) not in sys.stdlib_module_names}, key=order)
    return "\n\n".join("\n".join(group) for group in (stdlib, other) if group)


def _comment(text: str) -> list[str]:
    flat = " ".join(text.split())
    return textwrap.wrap(flat, 97, initial_indent="# ", subsequent_indent="#   ")


def to_python(target: Target, config: PoolConfig) -> str:
    """A runnable script that builds the measured PooledDB and checks it with one SELECT 1."""
    validation = validate(config, target.facts).require_ok()
    effective = validation.effective
    imports, body = _split_imports(target.python_connect_code(target.password_env))
    imports.append("from dbutils.pooled_db import PooledDB")

    header = [
        f"# A DBUtils PooledDB exported by pooltui {_version()}.",
        *_comment(f"Target: {' '.join(target.redacted.split())}"),
    ]
    if target.has_password:
        header += _comment(
            f"The password is read from the environment variable "
            f"{target.password_env}; pooltui never writes it."
        )
    header.append("# The parameters are the effective ones, after DBUtils' own normalising.")
    notes = [f for f in validation.findings if f.level in ("warning", "info")]
    if notes:
        header.append("# Notes from pooltui's validation:")
        for finding in notes:
            header += _comment(f"{finding.level}: {finding.param}: {finding.message}")

    arguments = "".join(
        f"    {key}={value!r},\n" for key, value in pooled_db_kwargs(effective).items()
    )
    main = textwrap.dedent("""\
        if __name__ == "__main__":
            con = pool.connection()
            try:
                cursor = con.cursor()
                cursor.execute("SELECT 1")
                print("pool works:", cursor.fetchone())
                cursor.close()
            finally:
                con.close()
                pool.close()
        """)
    parts = [
        "\n".join(header),
        _import_block(imports),
        "\n".join(body).strip("\n"),
        f"pool = PooledDB(\n    creator,\n{arguments}    **connect_kwargs,\n)",
        main.rstrip("\n"),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"
