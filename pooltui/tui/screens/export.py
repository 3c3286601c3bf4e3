"""Export the configuration being tuned (a TOML profile pooltui loads again, Python code, or a
Locust locustfile running the workload in every Locust worker) or the run history (CSV or JSON).

The preview is exactly the text a save writes (and the clipboard gets), so what the user reads
is what they get; no format ever holds a password (the exporters guarantee it). A save never
replaces a file without asking, and a file name whose extension is another format's is said
before it is written.
"""

from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    Footer,
    Input,
    Label,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)

from pooltui.core.errors import PooltuiError
from pooltui.core.export import to_locust, to_python, to_toml
from pooltui.core.history_store import StoredRun, to_csv, to_json
from pooltui.core.profiles import Profile, file_exists_for_writing, save_text_atomically
from pooltui.core.targets import Target
from pooltui.tui.screens.confirm import ConfirmScreen
from pooltui.tui.screens.dialog import DialogScreen

FORMATS = ("toml", "python", "locust", "csv", "json")
TITLES = {
    "toml": "TOML profile",
    "python": "Python code",
    "locust": "Locustfile",
    "csv": "Runs CSV",
    "json": "Runs JSON",
}
EXTENSIONS = {"toml": ".toml", "python": ".py", "locust": ".py", "csv": ".csv", "json": ".json"}
LANGUAGES = {"toml": "toml", "python": "python", "locust": "python", "csv": None, "json": "json"}
NEEDS_TARGET = {"python": "Python code", "locust": "locustfile"}  # what needs a connected target


def highlighting(language: str) -> str | None:
    """The TextArea language if its tree-sitter grammar is installed (``textual[syntax]``).

    Without the grammar TextArea would raise (tree-sitter present) or warn (absent), so the
    preview falls back to plain text instead.
    """
    if find_spec("tree_sitter") is None or find_spec(f"tree_sitter_{language}") is None:
        return None
    return language


def default_file_name(profile: Profile, fmt: str) -> str:
    """``<name>.toml``, ``pool_<name>.py``, ``locustfile_<name>.py``, ``<name>-runs.csv`` or
    ``.json``, with characters a file name dislikes replaced."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", profile.name).strip("._") or "pool"
    if fmt == "toml":
        return f"{stem}.toml"
    if fmt in ("python", "locust"):
        prefix = "pool" if fmt == "python" else "locustfile"
        return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', stem)}.py"
    return f"{stem}-runs{EXTENSIONS[fmt]}"


def suggested_name(name: str, old: str, new: str, profile: Profile) -> str:
    """The file name after switching from format ``old`` to ``new``: the new default when the
    name was the old default, the name with the new extension when it had the old one, else
    the name as typed (the user chose it)."""
    if not name.strip() or name == default_file_name(profile, old):
        return default_file_name(profile, new)
    path = Path(name)
    if path.suffix.lower() == EXTENSIONS[old]:
        return str(path.with_suffix(EXTENSIONS[new]))
    return name


def extension_warning(path: Path, fmt: str) -> str:
    """A sentence when the file's extension is not the format's ("" when it is)."""
    wanted = EXTENSIONS[fmt]
    if path.suffix.lower() == wanted:
        return ""
    other = next((f for f, ext in EXTENSIONS.items() if ext == path.suffix.lower()), None)
    has = (
        f"the extension of {TITLES[other]}"
        if other
        else f"“{path.suffix}”"
        if path.suffix
        else "no extension"
    )
    return f"{path.name} has {has}, but this is {TITLES[fmt]} ({wanted})."


class ExportScreen(DialogScreen[None]):
    """Preview the profile as TOML, Python or a locustfile (or the runs); save it to a file or
    copy it to the clipboard."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+c", "copy", "Copy", priority=True),
        Binding("c", "copy", "Copy", show=False),
        Binding("t", "show('toml')", "TOML"),
        Binding("y", "show('python')", "Python"),
        Binding("l", "show('locust')", "Locust"),
        Binding("v", "show('csv')", "CSV"),  # the tabs say "Runs CSV": 80 columns fit every key
        Binding("j", "show('json')", "JSON"),
    ]

    DEFAULT_CSS = """
    ExportScreen > #dialog {
        width: 110; height: 1fr; max-height: 44; margin: 1 0;
    }
    ExportScreen TabbedContent { height: 1fr; }
    ExportScreen TabPane { padding: 0; }
    ExportScreen TextArea { height: 1fr; }
    ExportScreen #save-row { height: auto; padding-top: 1; }
    ExportScreen #save-row > Label { padding: 1 1 0 0; }
    ExportScreen #file { width: 1fr; }
    ExportScreen #save-row > Button { margin-left: 1; min-width: 8; width: auto; }
    """

    def __init__(
        self, profile: Profile, target: Target | None, runs: list[StoredRun] | None = None
    ) -> None:
        super().__init__()
        self._profile = profile
        self._texts: dict[str, str] = {}
        self._problems: dict[str, str] = {}
        for fmt in FORMATS:
            try:
                if fmt in ("csv", "json"):
                    if runs:
                        self._texts[fmt] = to_csv(runs) if fmt == "csv" else to_json(runs)
                    else:
                        self._problems[fmt] = "No runs to export yet: run a burst (b) first."
                elif fmt == "toml":
                    self._texts[fmt] = to_toml(profile)
                elif target is None:
                    self._problems[fmt] = (
                        f"Connect to a database first: the {NEEDS_TARGET[fmt]} "
                        "needs its driver and connection arguments."
                    )
                elif fmt == "locust":  # refused for a driver that blocks gevent's loop
                    self._texts[fmt] = to_locust(target, profile)
                else:
                    self._texts[fmt] = to_python(target, profile.pool)
            except PooltuiError as error:
                self._problems[fmt] = str(error)
        self._format = "toml"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"Export {self._profile.name}"
            with TabbedContent(id="formats", initial="toml"):
                for fmt in FORMATS:
                    with TabPane(TITLES[fmt], id=fmt):
                        text = self._texts.get(fmt, f"# {self._problems.get(fmt, '')}")
                        language = LANGUAGES[fmt]
                        yield TextArea.code_editor(
                            text,
                            language=highlighting(language) if language else None,
                            read_only=True,
                            tab_behavior="focus",
                            soft_wrap=True,
                            id=f"{fmt}-text",
                        )
            with Horizontal(id="save-row"):
                yield Label("File")
                yield Input(default_file_name(self._profile, "toml"), id="file")
                yield Button("Save", id="save", variant="primary")
                yield Button("Copy", id="copy")
                yield Button("Close", id="close")
            yield Static("", id="error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._show_problem()
        self.query_one("#toml-text", TextArea).focus()

    @property
    def format(self) -> str:
        """The format shown now: one of FORMATS."""
        return self._format

    def text(self, fmt: str | None = None) -> str | None:
        """The exported text of a format (the current one by default), None if unavailable."""
        return self._texts.get(fmt or self._format)

    def _show_problem(self) -> None:
        self._set_error(self._problems.get(self._format, ""))

    def action_show(self, fmt: str) -> None:
        """Switch the preview to a format (t: TOML, y: Python, l: Locust, v: CSV, j: JSON)."""
        self.query_one("#formats", TabbedContent).active = fmt

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        new = event.pane.id or "toml"
        if new == self._format:
            return
        file_input = self.query_one("#file", Input)
        file_input.value = suggested_name(file_input.value, self._format, new, self._profile)
        self._format = new
        self._show_problem()

    def action_save(self) -> None:
        """Write the previewed text atomically; a failure is shown here, the screen stays."""
        text = self.text()
        if text is None:
            self._show_problem()
            return
        name = self.query_one("#file", Input).value.strip()
        if not name:
            self._set_error(
                "Type a file name to save to, e.g. "
                f"{default_file_name(self._profile, self._format)}."
            )
            return
        path = Path(name).expanduser()
        if path.is_dir():
            self._set_error(
                f"{path} is a directory; add a file name such as "
                f"{default_file_name(self._profile, self._format)}."
            )
            return
        try:
            exists = file_exists_for_writing(path)
        except PooltuiError as error:
            self._set_error(str(error))
            return
        concerns = [extension_warning(path, self._format)]
        if exists:
            concerns.insert(0, f"{path} exists already: replace it?")
        concerns = [c for c in concerns if c]
        if not concerns:
            self._write(path, text)
            return
        if not exists:
            concerns.append("Save it under this name anyway?")

        def answered(yes: bool | None) -> None:
            if yes:
                self._write(path, text)
            else:
                self._set_error("Not saved: change the file name, then save again.")
                self.query_one("#file", Input).focus()

        self.app.push_screen(
            ConfirmScreen(
                " ".join(concerns),
                yes="Replace" if exists else "Save",
                title="Save",
            ),
            answered,
        )

    def _write(self, path: Path, text: str) -> None:
        try:
            save_text_atomically(path, text)
        except PooltuiError as error:
            self._set_error(str(error))
            return
        self._set_error("")
        what = {"toml": "profile", "python": "Python code", "locust": "locustfile"}.get(
            self._format, "runs"
        )
        self.app.notify(f"Saved the {what} to {path.resolve()}", title="Export")

    def action_copy(self) -> None:
        """Copy the selection of the preview, or all of it, to the clipboard (OSC 52)."""
        text = self.text()
        if text is None:
            self._show_problem()
            return
        area = self.query_one(f"#{self._format}-text", TextArea)
        chosen = area.selected_text or text
        self.app.copy_to_clipboard(chosen)
        part = "the selection" if area.selected_text else "the whole preview"
        self.app.notify(f"Copied {part} to the clipboard.", title="Export")

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        {"save": self.action_save, "copy": self.action_copy}.get(
            event.button.id or "", self.action_close
        )()

    @on(Input.Submitted, "#file")
    def _submitted(self) -> None:
        self.action_save()
