"""Validated option tables of the config's sections (``[conditions]``, ``[mixing]``,
``[training.schedule]``, ``[weak]``).

This layer sits below :mod:`invariant.config` and above :mod:`invariant.errors` and
:mod:`invariant.games.validate` only: the config validates every section through it
without importing the analyses that read the options, so no import cycle runs through it.
"""
