"""Kernel templates: the bodies of the generated kernel modules (docs/kernels.md).

Each module here is real, lintable Python, but none is imported at run time:
:mod:`invariant.engine.render` reads their text, replaces each one's ``# <header>`` …
``# </header>`` block by a generated header (constants and the game's kernels) and joins
them into one module per game in the kernel cache, which numba then compiles and caches.
"""
