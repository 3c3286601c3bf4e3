"""A one-row slider for numeric pool parameters, integer or float.

Written from scratch because the PyPI sliders are GPL, integer-only or badly packaged, and
they all post a ``Changed`` for the initial value on mount. This one does not: a handler
sees a ``Slider.Changed`` only when the value really changes after the widget exists
(a key, the mouse, or an assignment to ``value``); ``set_value(v)`` moves it silently, which
is what loading a profile into the sliders wants.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.style import Style
from textual.widget import Widget

Number = int | float


def _decimals(number: Number) -> int:
    """Digits after the point that ``number`` needs, so float steps round cleanly."""
    exponent = Decimal(repr(number)).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class Slider(Widget, can_focus=True):
    """``label  ━━━━━━●─────  value unit`` on one row; keys, click and drag move it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Decrease", show=False),
        Binding("right", "step(1)", "Increase", show=False),
        Binding("shift+left,pagedown", "step(-10)", "Decrease 10 steps", show=False),
        Binding("shift+right,pageup", "step(10)", "Increase 10 steps", show=False),
        Binding("home", "to_minimum", "Minimum", show=False),
        Binding("end", "to_maximum", "Maximum", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "slider--label",
        "slider--track",
        "slider--fill",
        "slider--thumb",
        "slider--value",
    }

    DEFAULT_CSS = """
    Slider {
        width: 1fr;
        height: 1;
        pointer: pointer;
        & > .slider--label { color: $foreground; }
        & > .slider--track { color: $foreground 30%; }
        & > .slider--fill { color: $primary 70%; }
        & > .slider--thumb { color: $primary; text-style: bold; }
        & > .slider--value { color: $foreground; }
        &:focus {
            & > .slider--track { color: $foreground 55%; }
            & > .slider--fill { color: $accent; }
            & > .slider--thumb { color: $accent; }
            & > .slider--label { text-style: bold; }
        }
        &:disabled {
            pointer: not-allowed;
            & > .slider--label, & > .slider--track, & > .slider--fill,
            & > .slider--thumb, & > .slider--value { color: $text-disabled; }
        }
    }
    """

    TRACK_FILL = "━"
    TRACK_EMPTY = "─"
    THUMB = "●"

    value: reactive[Number] = reactive(0, init=False)
    """The current value, always within [minimum, maximum] and on the step grid."""

    class Changed(Message):
        """The value changed after mount (key, mouse or assignment; not ``set_value``)."""

        def __init__(self, slider: Slider, value: Number) -> None:
            super().__init__()
            self.slider = slider
            self.value = value

        @property
        def control(self) -> Slider:
            """The slider, so ``@on(Slider.Changed, "#id")`` selects on it."""
            return self.slider

    def __init__(
        self,
        minimum: Number,
        maximum: Number,
        value: Number | None = None,
        *,
        step: Number = 1,
        label: str = "",
        unit: str = "",
        label_width: int | None = None,
        value_width: int = 0,
        format: str | Callable[[Number], str] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Floats are used when any of minimum, maximum or step is a float.

        ``format`` is a format spec (``".1f"``) or a callable returning the text;
        ``label_width`` and ``value_width`` (a minimum) fix the label and value columns so a
        stack of sliders lines up.
        """
        if not step > 0:
            raise ValueError("Slider step must be positive")
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._step = step
        self._is_float = any(isinstance(n, float) for n in (minimum, maximum, step))
        self._set_bounds(minimum, maximum)
        self.label = label
        self.unit = unit
        self._label_width = len(label) if label_width is None else label_width
        self._min_value_width = value_width
        self._format = format
        self._dragging = False
        start = minimum if value is None else value
        self.set_reactive(Slider.value, self._snap(start))

    @property
    def minimum(self) -> Number:
        return self._minimum

    @property
    def maximum(self) -> Number:
        return self._maximum

    @property
    def step(self) -> Number:
        return self._step

    def _snap(self, value: Number) -> Number:
        """Clamp to the range, then round to the nearest step (down if that passes maximum)."""
        as_float = float(value)
        if math.isnan(as_float):
            raise ValueError("Slider value must be a number")
        low, high, step = self._minimum, self._maximum, self._step
        clamped = min(max(as_float, low), high)
        steps = round((clamped - low) / step)
        snapped = round(low + steps * step, self._decimals)
        if snapped > high:
            snapped = round(low + (steps - 1) * step, self._decimals)
        return snapped if self._is_float else int(snapped)

    def validate_value(self, value: Number) -> Number:
        return self._snap(value)

    def watch_value(self, value: Number) -> None:
        self.post_message(self.Changed(self, value))

    def set_value(self, value: Number, *, notify: bool = False) -> None:
        """Move the slider; posts ``Changed`` only when ``notify`` (profile loading doesn't)."""
        if notify:
            self.value = value
        else:
            with self.prevent(Slider.Changed):
                self.value = value

    def _set_bounds(self, minimum: Number, maximum: Number) -> None:
        if maximum < minimum:
            raise ValueError("Slider maximum must not be below minimum")
        self._minimum, self._maximum = minimum, maximum
        self._decimals = max(_decimals(self._step), _decimals(minimum)) if self._is_float else 0

    def set_range(self, minimum: Number, maximum: Number, *, notify: bool = False) -> None:
        """Change the bounds (the step stays); the value is clamped into them."""
        self._set_bounds(minimum, maximum)
        self.set_value(self.value, notify=notify)
        self.refresh(layout=True)

    def format_value(self, value: Number) -> str:
        """The value as shown, without the unit."""
        if callable(self._format):
            return self._format(value)
        if self._format is not None:
            return format(value, self._format)
        return f"{value:.{self._decimals}f}" if self._is_float else str(value)

    def _value_text(self, value: Number) -> str:
        return f"{self.format_value(value)} {self.unit}" if self.unit else self.format_value(value)

    def _value_width(self) -> int:
        """Widest value text over the range, so the track does not jump as the value moves."""
        texts = (self._value_text(v) for v in (self._minimum, self._maximum, self.value))
        return max(self._min_value_width, *(len(text) for text in texts))

    def _track(self) -> tuple[int, int]:
        """(x, width) of the track within the content region."""
        label_columns = self._label_width + 1 if self._label_width else 0
        width = self.size.width - label_columns - self._value_width() - 1
        return label_columns, max(width, 1)

    def _thumb_cell(self, track_width: int) -> int:
        span = self._maximum - self._minimum
        fraction = (self.value - self._minimum) / span if span else 0.0
        return int(fraction * (track_width - 1) + 0.5)

    def _value_at(self, cell: int, track_width: int) -> Number:
        """The (snapped) value that puts the thumb on ``cell``."""
        if track_width <= 1:
            return self._minimum
        cell = min(max(cell, 0), track_width - 1)
        span = self._maximum - self._minimum
        return self._snap(self._minimum + cell / (track_width - 1) * span)

    def render(self) -> Content:
        _, track_width = self._track()
        thumb = self._thumb_cell(track_width)
        style = self.get_visual_style
        parts: list[tuple[str, Style]] = []
        if self._label_width:
            label = self.label[: self._label_width].ljust(self._label_width)
            parts.append((label + " ", style("slider--label")))
        parts += [
            (self.TRACK_FILL * thumb, style("slider--fill")),
            (self.THUMB, style("slider--thumb")),
            (self.TRACK_EMPTY * (track_width - thumb - 1), style("slider--track")),
            (" " + self._value_text(self.value).rjust(self._value_width()), style("slider--value")),
        ]
        return Content.assemble(*parts)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        label_columns = self._label_width + 1 if self._label_width else 0
        return label_columns + 20 + 1 + self._value_width()

    def action_step(self, steps: int) -> None:
        if not self.is_disabled:
            self.value = self._snap(self.value + steps * self._step)

    def action_to_minimum(self) -> None:
        if not self.is_disabled:
            self.value = self._minimum

    def action_to_maximum(self) -> None:
        if not self.is_disabled:
            self.value = self._maximum

    def _move_to(self, x: int) -> None:
        """Put the thumb under content column ``x`` (unless it is already there)."""
        track_x, track_width = self._track()
        cell = x - track_x
        if cell != self._thumb_cell(track_width):
            self.value = self._value_at(cell, track_width)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self.is_disabled:
            return
        track_x, track_width = self._track()
        if track_x <= offset.x < track_x + track_width:
            event.stop()
            self._move_to(offset.x)
            self._dragging = True
            self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            event.stop()
            self._move_to(event.get_content_offset_capture(self).x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            event.stop()
            self._dragging = False
            self.release_mouse()
