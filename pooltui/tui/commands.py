"""The command palette's pooltui commands: every action of the footer, by name.

Built from the screen's active bindings (``Screen.active_bindings``, what the footer shows), so
the palette and the footer can never disagree: a binding added to the tune screen shows up here
with its description and key, and a key its screen disables now (``check_action``) is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen

# the longer sentence the palette shows under each command, by action name
HELP: dict[str, str] = {
    "warm_up": "Build the pool if needed and pre-open mincached connections (cold vs warm).",
    "burst": "Run the workload against the pool in the background; the result becomes a run.",
    "repeat": "Run the current configuration again as often as the repeats slider says: "
    "the runs form one row, its figures the median with the repeats' noise band.",
    "compare": "A/B: alternate the baseline's configuration (A) with the sliders' (B), A/B/B/A "
    "for `repeats` rounds on two pools of its own, and judge every figure (better, worse, within "
    "noise) with its 95 % interval.",
    "stop": "Stop the running burst (and the repeats it is one of) or A/B comparison within one "
    "request; what ran is kept.",
    "mark_baseline": "Compare every run with the selected one (again to clear the baseline).",
    "diagnose": "The guided wizard: it measures the target, asks about the workload and "
    "recommends a configuration, with the reason for every value.",
    "details": "The selected run's figures and configuration; load it back into the sliders.",
    "connect": "Point the console at another database (DSN) or back at the demo.",
    "profiles": "Load a profile into the sliders or save the current settings as one.",
    "export": "Write the configuration as a TOML profile or as Python PooledDB code.",
    "help": "What every parameter, gauge and key means.",
    "jump('params')": "The panels' own keys: 1 parameters, 2 runs, 3 events, 4 findings; the "
    "panel with focus has a heavy border, the control with focus a bar at its left.",
    "leave_field": "Leave the input field (the letters are typed into it while it has focus): "
    "the next letter is a key again.",
    "quit": "Stop any run, close every connection and leave.",
}


# palette commands whose key is a widget's (enter on the run history), by screen action
EXTRA = (("details", "Run details (enter on a run)"),)


def command_bindings(
    screen: Screen[Any], *, enabled_only: bool = False
) -> Iterator[tuple[DOMNode, Binding]]:
    """The (owner, binding) pairs the footer shows for ``screen`` (its focused widget's, its
    own and the app's), one per action; ``enabled_only`` leaves out the disabled ones."""
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.show and binding.action not in seen and (active.enabled or not enabled_only):
            seen.add(binding.action)
            yield active.node, binding


def _key_text(node: DOMNode, binding: Binding) -> str:
    return node.app.get_key_display(binding)


def help_for(binding: Binding) -> str:
    """The palette's and the help page's sentence for a binding ("app.export" -> "export")."""
    action = binding.action.removeprefix("app.")
    return HELP.get(action, binding.tooltip or binding.description)


class PoolCommands(Provider):
    """Palette entries for the active screen's and the app's shown bindings."""

    def _commands(self) -> list[tuple[str, str, partial[Any]]]:
        screen = self.screen
        out: list[tuple[str, str, partial[Any]]] = []
        for owner, binding in command_bindings(screen, enabled_only=True):
            title = f"{binding.description} ({_key_text(screen, binding)})"
            help_text = help_for(binding)
            out.append((title, help_text, partial(screen.app.run_action, binding.action, owner)))
        for action, title in EXTRA:  # keys that belong to a widget, not to the screen
            if hasattr(screen, f"action_{action}") and screen.check_action(action, ()):
                out.append((title, HELP[action], partial(screen.run_action, action)))
        return out

    async def discover(self) -> Hits:
        for title, help_text, command in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, text=title, help=help_text)
