"""Errors the command line reports with exit code 2 besides the readers', the specification's and the model's."""


class OutputError(ValueError):
    """The output folder cannot be used (the message says why)."""
