"""Copies of built-in games' kernel modules without ``hvp``: the engine and ``Game.hvp`` then
fall back to the central difference of ``grad`` (tests/test_fd_hvp.py)."""
