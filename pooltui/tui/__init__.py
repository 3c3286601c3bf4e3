"""pooltui's Textual console: screens, widgets and the app; ``pooltui.core`` never imports this."""
