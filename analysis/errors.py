"""Errors the command line reports with exit code 2 besides the readers' and the specification's: every layer may
raise them (this module imports nothing of the package)."""


class OutputError(ValueError):
    """The output folder cannot be used (the message says why)."""


class ModelError(ValueError):
    """The model cannot be estimated as asked; the message names the term and what to do."""
