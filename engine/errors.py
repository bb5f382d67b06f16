"""Errors the engine raises on purpose (as opposed to bugs)."""


class EngineError(Exception):
    """Base class for the engine's own errors."""


class ConfigError(EngineError):
    """Something the operator must fix before the engine can start.

    The message is a single line that names the problem; the CLI prints it without a traceback.
    """


class StoreError(EngineError):
    """The engine store failed while the engine was running."""
