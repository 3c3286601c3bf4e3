"""Load a saved profile, or save the current settings as a new one in the user's profile dir.

Every profile file is read when the screen opens, so a broken one is listed with its error
instead of failing later; loading it shows that sentence and keeps the screen open. Reading the
files and the atomic save (an fsync) run in a thread: a slow or network-mounted home directory
must not freeze the console.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from pooltui.core.errors import PooltuiError
from pooltui.core.profiles import (
    Profile,
    list_profiles,
    load_profile,
    save_profile,
    shipped_profiles_dir,
    user_profiles_dir,
)
from pooltui.tui.screens.confirm import ConfirmScreen
from pooltui.tui.screens.dialog import DialogScreen

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Entry:
    """One profile file as listed: the profile, or the sentence saying why it cannot load."""

    path: Path
    where: str
    profile: Profile | None
    error: str | None


def where_of(path: Path) -> str:
    """A short name for the directory a profile lives in."""
    parent = path.parent.resolve()
    if parent == user_profiles_dir().resolve():
        return "user"
    if parent == shipped_profiles_dir().resolve():
        return "shipped"
    if parent == (Path.cwd() / "profiles").resolve():
        return "./profiles"
    return str(path.parent)


def read_entries() -> list[Entry]:
    """Every listed profile, loaded now so the list can say which ones are broken."""
    entries = []
    for path in list_profiles():
        try:
            entries.append(Entry(path, where_of(path), load_profile(path), None))
        except PooltuiError as error:
            entries.append(Entry(path, where_of(path), None, str(error)))
    return entries


def settings_table(entry: Entry) -> Table | Text:
    """A profile's settings, or its error, for the right-hand pane."""
    if entry.profile is None:
        return Text(entry.error or "", style="bold red")
    profile = entry.profile
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row(Text("name"), Text(profile.name))
    grid.add_row(Text("file"), Text(str(entry.path)))
    grid.add_row(Text("target"), Text(profile.dsn or "(none: keeps the current target)"))
    for section, values in (("pool", profile.pool), ("workload", profile.workload)):
        grid.add_row(Text(f"[{section}]", style="cyan"), Text(""))
        for f in fields(values):
            grid.add_row(Text(f.name), Text(toml_value(getattr(values, f.name))))
    if profile.description:
        grid.add_row(Text("why", style="cyan"), Text(profile.description))
    return grid


def toml_value(value: object) -> str:
    """A setting written as in the profile file: true, 4, 2.5, "SELECT 1", ["a", "b"]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def first_sentence(text: str, limit: int = 70) -> str:
    """The description's first sentence, cut to one list line."""
    sentence = text.split(". ")[0].split(": ")[0].strip()
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


class ProfilesScreen(DialogScreen[Profile | None]):
    """Pick a profile to load, or save the current settings under a new name."""

    BINDINGS = [
        Binding("escape", "cancel", "Close"),
        Binding("l", "load", "Load"),
        Binding("ctrl+s", "save", "Save as", priority=True),
        Binding("n", "name", "Name"),
    ]

    DEFAULT_CSS = """
    ProfilesScreen > #dialog {
        width: 120; height: 1fr; max-height: 44; margin: 1 0;
    }
    ProfilesScreen #panes { height: 1fr; }
    ProfilesScreen #list { width: 2fr; height: 1fr; }
    ProfilesScreen #details { width: 3fr; height: 1fr; border: round $panel-lighten-2;
                              padding: 0 1; }
    ProfilesScreen #save-row { height: auto; padding-top: 1; }
    ProfilesScreen #name { width: 1fr; }
    ProfilesScreen #save-row > Button { margin-right: 1; min-width: 10; width: auto; }
    ProfilesScreen #save-row > Label { padding: 1 1 0 1; }
    """

    class ProfilesRead(Message):
        """The profile files were read (in a thread)."""

        def __init__(self, entries: list[Entry], select: Path | None) -> None:
            super().__init__()
            self.entries, self.select = entries, select

    class ProfileSaved(Message):
        """The current settings were written to ``path`` (in a thread)."""

        def __init__(self, name: str, path: Path) -> None:
            super().__init__()
            self.name, self.path = name, path

    class ProfileSaveFailed(Message):
        """Writing the profile failed; ``error`` is one sentence naming the file."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, current: Profile) -> None:
        super().__init__()
        self._current = current
        self._entries: list[Entry] = []
        self.listed = False  # the files have been read at least once

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Profiles"
            with Horizontal(id="panes"):
                yield OptionList(id="list")
                with VerticalScroll(id="details"):
                    yield Static("", id="settings", markup=False)
            with Horizontal(id="save-row"):
                yield Button("Load", id="load", variant="primary")
                yield Label("Save as")
                yield Input(self._current.name, placeholder="profile name", id="name")
                yield Button("Save", id="save")
                yield Button("Close", id="close")
            yield Static("", id="error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one("#list", OptionList).focus()

    @property
    def entries(self) -> list[Entry]:
        """The profiles as listed now."""
        return list(self._entries)

    def refresh_list(self, select: Path | None = None) -> None:
        """Re-read the profile files; highlight ``select`` (or the first) afterwards."""
        self._read(select)

    @work(thread=True, exclusive=True, exit_on_error=False, group="profiles")
    def _read(self, select: Path | None) -> None:
        """Runs in a thread: touches no widget, posts one message."""
        self.post_message(self.ProfilesRead(read_entries(), select))

    @on(ProfilesRead)
    def _show_entries(self, message: ProfilesRead) -> None:
        self._entries, select = message.entries, message.select
        self.listed = True
        option_list = self.query_one("#list", OptionList)
        option_list.clear_options()
        for index, entry in enumerate(self._entries):
            label = Text(
                entry.path.stem if entry.profile is None else entry.profile.name,
                style="bold red" if entry.profile is None else "bold",
            )
            label.append(f" ({entry.where})", style="dim")
            detail = (
                "cannot be loaded"
                if entry.profile is None
                else first_sentence(entry.profile.description)
            )
            if detail:
                label.append(f"\n  {detail}", style="red" if entry.profile is None else "dim")
            option_list.add_option(Option(label, id=str(index)))
        if not self._entries:
            self.query_one("#settings", Static).update(
                f"No profiles yet: save one, it goes to {user_profiles_dir()}."
            )
            return
        paths = [e.path.resolve() for e in self._entries]
        wanted = select.resolve() if select else None
        option_list.highlighted = paths.index(wanted) if wanted in paths else 0

    def highlighted_entry(self) -> Entry | None:
        """The entry under the list's cursor."""
        index = self.query_one("#list", OptionList).highlighted
        return self._entries[index] if index is not None and index < len(self._entries) else None

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        entry = self.highlighted_entry()
        if entry is not None:
            self.query_one("#settings", Static).update(settings_table(entry))
            self._set_error("")

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_load()

    def action_load(self) -> None:
        """Dismiss with the highlighted profile; a broken one shows its error instead."""
        entry = self.highlighted_entry()
        if entry is None:
            self._set_error("There is no profile to load yet.")
        elif entry.profile is None:
            self._set_error(entry.error or "")
        else:
            self.dismiss(entry.profile)

    def action_name(self) -> None:
        self.query_one("#name", Input).focus()

    def action_save(self) -> None:
        """Save the current settings under the typed name in the user's profile directory."""
        name = self.query_one("#name", Input).value.strip()
        if not _NAME.fullmatch(name):
            self._set_error(
                "Give the profile a name of letters, digits, '-', '_' or '.' "
                "(at most 64, e.g. web-api), then save again."
            )
            self.action_name()
            return
        profile, path = replace(self._current, name=name), user_profiles_dir() / f"{name}.toml"
        if not path.exists():
            self._save(profile, path)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._save(profile, path)
            else:
                self._set_error("Not saved: give the profile another name, then save again.")
                self.action_name()

        self.app.push_screen(
            ConfirmScreen(
                f"A profile named {name} exists already ({path}): replace it with the "
                "current settings?",
                yes="Replace",
                title="Save profile",
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="profiles-save")
    def _save(self, profile: Profile, path: Path) -> None:
        """Runs in a thread: touches no widget, posts one message."""
        try:
            save_profile(profile, path)
        except PooltuiError as failure:
            self.post_message(self.ProfileSaveFailed(str(failure)))
            return
        self.post_message(self.ProfileSaved(profile.name, path))

    @on(ProfileSaved)
    def _saved(self, message: ProfileSaved) -> None:
        self._set_error("")
        self.app.notify(f"Saved profile {message.name} to {message.path}", title="Profiles")
        self.refresh_list(select=message.path)

    @on(ProfileSaveFailed)
    def _save_failed(self, message: ProfileSaveFailed) -> None:
        self._set_error(message.error)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        {"load": self.action_load, "save": self.action_save}.get(
            event.button.id or "", self.action_cancel
        )()

    @on(Input.Submitted, "#name")
    def _submitted(self) -> None:
        self.action_save()
