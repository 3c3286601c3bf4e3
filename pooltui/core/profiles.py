"""Profiles: a pool configuration, a workload and optionally a target, kept as one TOML file.

Loading is strict (unknown keys and wrong types are refused with the file and the key) because a
typo that silently falls back to a default would make a tuning run measure the wrong thing.
A profile never holds a password: one in the DSN is refused on load and stripped on save.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import math
import os
import stat
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from pooltui.core.config import POOL_FIELDS, WORKLOAD_FIELDS, PoolConfig, Workload
from pooltui.core.errors import BadInput, PooltuiError, RunFailed
from pooltui.core.targets import (
    Target,
    dsn_prefixes,
    dsn_secrets,
    dsn_without_secrets,
    parse_dsn,
)

MAX_TOML_DEPTH = 16  # profiles and answers nest two deep; deeper input is a mistake or an attack
DSN_PREFIXES = dsn_prefixes()  # every registered driver's
_TOP_KEYS = ("name", "description", "target", "pool", "workload")


@dataclass(frozen=True)
class Profile:
    """One named tuning setup; ``dsn`` never carries a password."""

    name: str
    description: str = ""
    dsn: str | None = None
    pool: PoolConfig = field(default_factory=PoolConfig)
    workload: Workload = field(default_factory=Workload)


# --- passwords in DSNs -------------------------------------------------------------------------

# Both split the DSN exactly as the DSN's driver does when it parses it, so what counts as the
# password here is what the driver would be given as one.


def dsn_has_password(dsn: str) -> bool:
    """True when the DSN itself carries a (non-empty) password or other secret."""
    return bool(dsn_secrets(dsn))


def strip_password(dsn: str) -> str:
    """The DSN without its secrets (not masked: removed), so it can be written anywhere."""
    return dsn_without_secrets(dsn)


# --- loading ----------------------------------------------------------------------------------


def _kind_name(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "a whole number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _coerce(where: str, key: str, kind: type, value: Any) -> Any:
    """Check one value against the field's type; the only conversion is int -> float."""

    def bad(expected: str) -> BadInput:
        return BadInput(
            f"{where}: {key} must be {expected}, not {_kind_name(value)}; "
            "fix that line of the profile."
        )

    if kind is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        if not math.isfinite(value):
            raise BadInput(
                f"{where}: {key} must be a finite number, not {value}; "
                "fix that line of the profile."
            )
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if not isinstance(value, list | tuple) or not all(isinstance(s, str) for s in value):
        raise bad("an array of strings")
    return tuple(value)


def _table(where: str, data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> dict:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise BadInput(f"{where}: {key} must be a table ([{key}]), not {_kind_name(table)}.")
    for name in table:
        if name not in allowed:
            raise BadInput(
                f"{where}: {key}.{name} is not a known key; use one of: {', '.join(allowed)}."
            )
    return table


def profile_from_dict(data: dict[str, Any], where: str) -> Profile:
    """Build a Profile from parsed TOML, refusing anything that is not exactly right."""
    for key in data:
        if key not in _TOP_KEYS:
            raise BadInput(
                f"{where}: {key} is not a known key; use name, description, "
                "[target], [pool] and [workload]."
            )
    name = data.get("name")
    if name is None:
        raise BadInput(f'{where}: name is missing; add a line such as name = "web-api".')
    name = _coerce(where, "name", str, name)
    if not name.strip():
        raise BadInput(f'{where}: name is empty; give the profile a name such as "web-api".')
    description = _coerce(where, "description", str, data.get("description", ""))

    target = _table(where, data, "target", ("dsn",))
    dsn = None
    if "dsn" in target:
        dsn = _coerce(where, "target.dsn", str, target["dsn"])
        if not dsn.startswith(DSN_PREFIXES):
            raise BadInput(f"{where}: target.dsn must start with one of {', '.join(DSN_PREFIXES)}.")
        if dsn_has_password(dsn):
            raise BadInput(
                f"{where}: target.dsn contains a password; remove it from the file "
                "and supply it through the driver's environment variable or the "
                "prompt."
            )

    pool = _table(where, data, "pool", tuple(POOL_FIELDS))
    work = _table(where, data, "workload", tuple(WORKLOAD_FIELDS))
    pool_kwargs = {k: _coerce(where, f"pool.{k}", POOL_FIELDS[k], v) for k, v in pool.items()}
    work_kwargs = {
        k: _coerce(where, f"workload.{k}", WORKLOAD_FIELDS[k], v) for k, v in work.items()
    }
    return Profile(
        name=name,
        description=description,
        dsn=dsn,
        pool=PoolConfig(**pool_kwargs),
        workload=Workload(**work_kwargs),
    )


def load_profile(path: Path) -> Profile:
    """Read one profile file; any problem is a BadInput naming the file and the key."""
    return profile_from_dict(read_toml_file(path, "profile"), str(path))


def read_toml_file(path: Path | str, what: str) -> dict[str, Any]:
    """A TOML file as a mapping; every problem is a BadInput naming the file (``what`` file)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} file {path} does not exist; check the path or the name.") from None
    except UnicodeDecodeError:
        raise BadInput(f"{what} file {path} is not UTF-8 text; save it as UTF-8.") from None
    except OSError as exc:
        raise BadInput(
            f"cannot read {what} file {path} ({exc.strerror}); check its permissions."
        ) from None
    too_deep = BadInput(
        f"{what} file {path} nests arrays or tables more than "
        f"{MAX_TOML_DEPTH} deep; no pooltui {what} does, so fix the file."
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{what} file {path} is not valid TOML ({exc}); fix the syntax.") from None
    except RecursionError:  # tomllib parses nested arrays recursively
        raise too_deep from None
    if _depth_exceeds(data, MAX_TOML_DEPTH):  # a repr or a walk of it later would overflow
        raise too_deep
    return data


def _depth_exceeds(data: Any, limit: int) -> bool:
    """True when arrays and tables nest deeper than ``limit`` (walked without recursion)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


# --- writing ----------------------------------------------------------------------------------


def _as_dict(profile: Profile) -> dict[str, Any]:
    data: dict[str, Any] = {"name": profile.name, "description": profile.description}
    if profile.dsn:
        data["target"] = {"dsn": strip_password(profile.dsn)}
    data["pool"] = profile.pool.as_dict()
    data["workload"] = asdict(profile.workload)
    return data


def profile_to_toml(profile: Profile) -> str:
    """The profile as TOML that load_profile reads back equal (minus any password)."""
    data = _as_dict(profile)
    profile_from_dict(data, f"profile {profile.name!r}")  # refuse what could not load back
    return tomli_w.dumps(data)


def save_profile(profile: Profile, path: Path) -> None:
    """Write the profile atomically; BadInput if it could not load back, RunFailed on I/O."""
    save_text_atomically(Path(path), profile_to_toml(profile))


def save_text_atomically(
    path: Path | str, text: str, *, overwrite_readonly: bool = False, overwrite: bool = True
) -> None:
    """Write ``text`` to ``path``: temp file, fsync, rename, so a crash never leaves half a file.

    Only regular files are written: a directory, device, FIFO or socket at the path is refused.
    A symlink is written through (its target replaced, atomically, in the target's
    directory); an existing file keeps its mode and, where allowed, its owner; a read-only one
    is refused unless ``overwrite_readonly``; with ``overwrite`` False any existing file is
    (the CLI without ``--force``; the console asks first). Every refusal and failure is
    RunFailed (exit 1, "a file that cannot be written") naming the path, and leaves what was
    there untouched.
    """
    if isinstance(path, str) and not path.strip():
        raise RunFailed("The file name is empty: give the path of the file to write.")
    path = Path(path)
    real, existing = _destination(path, overwrite_readonly)
    if existing and not overwrite:
        raise RunFailed(
            f"{path} exists already and was left as it is: choose another file, or add "
            "--force to replace it."
        )
    mode = stat.S_IMODE(existing.st_mode) if existing else 0o666 & ~_umask()
    tmp: str | None = None
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if existing:
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(tmp, existing.st_uid, existing.st_gid)
        os.chmod(tmp, mode)
        os.replace(tmp, real)
        tmp = None
        with contextlib.suppress(OSError):  # make the rename itself durable where possible
            dir_fd = os.open(real.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise RunFailed(
            f"cannot write {path} ({exc.strerror or exc}); check that the "
            "directory exists and is writable."
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def profile_misfits(profile: Profile, target: Target) -> str:
    """One sentence when ``profile`` was made for another kind of server than ``target`` (its
    own DSN says which) naming what does not fit there: its setsession statements, ping_query
    and query are that server's SQL; "" when it fits or cannot tell (no DSN of its own)."""
    if not profile.dsn:
        return ""
    try:
        made_for = parse_dsn(profile.dsn)
    except PooltuiError:
        return ""
    theirs, ours = made_for.dialect, target.dialect
    if theirs.name == ours.name:
        return ""
    pool, workload = profile.pool, profile.workload
    items = [f"setsession {statement!r}" for statement in pool.setsession]
    if pool.ping_query:
        items.append(f"ping_query {pool.ping_query!r}")
    if workload.query.strip().upper() not in ("SELECT 1", ""):
        query = workload.query if len(workload.query) <= 40 else workload.query[:39] + "…"
        items.append(f"the query {query!r}")
    what = (
        f"{', '.join(items)} {'is' if len(items) == 1 else 'are'} {theirs.product} SQL and may "
        f"fail on {ours.product}; its pool sizes were tuned there"
        if items
        else "its figures were tuned there"
    )
    return (
        f"The profile {profile.name} was made for {theirs.product} ({made_for.redacted}), "
        f"not {ours.product}: {what}. Check them before a run."
    )


def file_exists_for_writing(path: Path | str) -> bool:
    """Whether a save to ``path`` would replace a file (the console asks first); RunFailed,
    before anything is asked, for a path no save may write (a directory, a device, a FIFO, a
    read-only file)."""
    return _destination(Path(path), False)[1] is not None


def _destination(path: Path, overwrite_readonly: bool) -> tuple[Path, os.stat_result | None]:
    """The file to replace for ``path`` (a symlink's final target) and its stat, if it exists;
    RunFailed for anything that is not a regular file pooltui may replace."""
    try:
        existing: os.stat_result | None = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        existing = None
    except NotADirectoryError:
        blocker = next((p for p in path.parents if p.is_file()), path.parent)
        raise RunFailed(
            f"cannot write {path}: {blocker} is a file, not a directory; choose a "
            "path inside a directory."
        ) from None
    except OSError as exc:
        raise RunFailed(
            f"cannot write {path} ({exc.strerror or exc}); check the path and its permissions."
        ) from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        kind = next(
            (name for test, name in _NOT_REGULAR if test(existing.st_mode)), "something else"
        )
        raise RunFailed(
            f"{path} is {kind}, not a regular file, so pooltui does not write it: "
            "give the path of a file (on the command line, -o - writes to stdout)."
        )
    real = Path(os.path.realpath(path))
    if existing is not None and not (real.exists() and os.path.samefile(real, path)):
        raise RunFailed(
            f"cannot tell which file {path} leads to, so pooltui does not write it: "
            "give the file's own path."
        )
    if (
        existing is not None
        and not overwrite_readonly
        and (not existing.st_mode & 0o222 or not os.access(real, os.W_OK))
    ):
        raise RunFailed(
            f"{path} is read-only, so pooltui leaves it alone: make it writable, "
            "choose another file, or (pooltui export, diagnose) pass --force."
        )
    return real, existing


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


# --- finding ----------------------------------------------------------------------------------


def user_profiles_dir() -> Path:
    """Where the user's own profiles live (the console saves there)."""
    import platformdirs  # only where a profile directory is looked up

    return Path(platformdirs.user_config_dir("pooltui")) / "profiles"


SHIPPED_PACKAGE = "pooltui"  # the example profiles are its package data, in profiles/*.toml


@functools.cache
def shipped_profiles_dir() -> Path:
    """The example profiles installed with the package, read through importlib.resources.

    Installed normally (a wheel, an editable install, the source tree) they are files on disk
    and this is their directory; imported from a zip, they are copied once into a temporary
    directory removed at exit, so every caller can treat a profile as a plain file path.
    """
    shipped = resources.files(SHIPPED_PACKAGE) / "profiles"
    if isinstance(shipped, Path):
        return shipped
    copies = tempfile.TemporaryDirectory(prefix="pooltui-profiles-")
    atexit.register(copies.cleanup)
    directory = Path(copies.name)
    for entry in shipped.iterdir():
        if entry.name.endswith(".toml") and entry.is_file():
            (directory / entry.name).write_bytes(entry.read_bytes())
    return directory


def search_dirs() -> list[Path]:
    """Profile directories, highest precedence first: user dir, ./profiles, the shipped ones."""
    out: list[Path] = []
    for d in (user_profiles_dir(), Path.cwd() / "profiles", shipped_profiles_dir()):
        if d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def find_profile(name_or_path: str) -> Path:
    """A path to an existing file, or ``<name>.toml`` from the first directory that has it."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    if "/" in name_or_path or os.sep in name_or_path or name_or_path.endswith(".toml"):
        raise BadInput(f"profile file {candidate} does not exist; check the path.")
    dirs = search_dirs()
    for d in dirs:
        path = d / f"{name_or_path}.toml"
        if path.is_file():
            return path
    looked = ", ".join(str(d) for d in dirs)
    raise BadInput(
        f"no profile named {name_or_path!r}: looked for {name_or_path}.toml in "
        f"{looked}; give a path or one of the names pooltui lists."
    )


def list_profiles() -> list[Path]:
    """Every profile file, one per name (the user's own wins), sorted by name."""
    by_name: dict[str, Path] = {}
    for d in reversed(search_dirs()):
        if d.is_dir():
            for path in d.glob("*.toml"):
                if path.is_file():
                    by_name[path.stem] = path
    return [by_name[k] for k in sorted(by_name)]
