"""Import arviz once, without its refactor announcement on every command."""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz  # noqa: E402

__all__ = ["arviz"]
