"""Errors the command line turns into exit status 2 with a one-line reason."""


class ConfigError(ValueError):
    """Bad input, found before any simulation: names the field and what is allowed.

    Parameters
    ----------
    field : str
        Dotted config key, e.g. ``"training.lr"``.
    message : str
        What is wrong and what is allowed.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
