"""Errors that carry a message meant for the user (printed without a traceback by the CLI)."""


class JetadError(Exception):
    """A problem with the user's input or configuration, explained in the message."""


class DataError(JetadError):
    """An input file does not hold what it should."""


class ConfigError(JetadError):
    """params.yaml is invalid."""


class UndeclaredSection(LookupError):
    """A stage read a params.yaml section it does not declare: a bug in the stage, since the
    engines would not rerun it when that section changes."""
