"""pooltui: tune DBUtils PooledDB connection pools against a real database."""

__version__ = "0.1.0"
