"""A non-editable install ships the example profiles: the wheel is built, installed in a fresh
venv and asked for them, and the same wheel imported as a zip finds them too.

The fresh venv gets pooltui only (``--no-deps --no-index``: no network); its dependencies come
from the running interpreter's site-packages, appended *after* the venv's own, so the pooltui
that answers is the installed one (asserted), never the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_NAMES = sorted(p.stem for p in (ROOT / "pooltui" / "profiles").glob("*.toml"))
DEPENDENCIES = sysconfig.get_paths()["purelib"]

# Runs in the other interpreter; prints what it found as JSON.
PROBE = """
import json, sys
sys.path.append({deps!r})
import pooltui
from pooltui.core.profiles import find_profile, list_profiles, load_profile
listed = list_profiles()
print(json.dumps({{
    "package": pooltui.__file__,
    "listed": [p.stem for p in listed],
    "paths": [str(p) for p in listed],
    "loaded": [load_profile(p).name for p in listed],
    "web_api": load_profile(find_profile("web-api")).name,
}}))
"""


def _run(cmd: list[str], cwd: Path, python_path: str | None = None) -> str:
    """Run ``cmd`` without this test run's PYTHONPATH (it points at the source tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if python_path:
        env["PYTHONPATH"] = python_path
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{cmd[:3]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources so the tree gets no build/ or egg-info."""
    work = tmp_path_factory.mktemp("build")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "pooltui", source / "pooltui", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work / "dist"),
            str(source),
        ],
        cwd=work,
    )
    (built,) = (work / "dist").glob("pooltui-*.whl")
    return built


def test_the_wheel_holds_every_profile_and_the_stylesheet(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n for n in names if n.startswith("pooltui/profiles/")) == [
        f"pooltui/profiles/{name}.toml" for name in SHIPPED_NAMES
    ]
    assert "pooltui/tui/app.tcss" in names


def test_an_installed_wheel_lists_and_loads_every_shipped_profile(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    _run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        cwd=tmp_path,
    )
    found = json.loads(
        _run([str(venv / "bin" / "python"), "-c", PROBE.format(deps=DEPENDENCIES)], cwd=tmp_path)
    )
    assert Path(found["package"]).is_relative_to(venv)  # the installed pooltui answered
    assert found["listed"] == SHIPPED_NAMES
    assert all(Path(p).is_relative_to(venv) for p in found["paths"])
    assert found["loaded"] == SHIPPED_NAMES  # every shipped profile's name is its file's
    assert found["web_api"] == "web-api"


def test_profiles_imported_from_a_zip_are_listed_and_load(wheel, tmp_path):
    # a wheel is a zip that zipimport can import from: the shipped profiles are no files then
    found = json.loads(
        _run(
            [sys.executable, "-c", PROBE.format(deps=DEPENDENCIES)],
            cwd=tmp_path,
            python_path=str(wheel),
        )
    )
    assert Path(found["package"]).is_relative_to(wheel)
    assert found["listed"] == SHIPPED_NAMES
    assert found["loaded"] == SHIPPED_NAMES
    assert found["web_api"] == "web-api"
