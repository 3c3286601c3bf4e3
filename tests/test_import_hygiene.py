"""The core and the headless CLI must work without importing textual (the console is optional)."""

import subprocess
import sys


def test_core_and_cli_do_not_import_textual():
    code = (
        "import sys, pkgutil, importlib, pooltui.core, pooltui.cli\n"
        "for m in pkgutil.iter_modules(pooltui.core.__path__):\n"
        "    importlib.import_module('pooltui.core.' + m.name)\n"
        "pooltui.cli.build_parser()\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
