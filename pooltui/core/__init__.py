"""The engine of pooltui. Nothing here imports textual: the console and the CLI stand on it."""
