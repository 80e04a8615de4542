"""Central differences shared by the schemes, the games and the kernels' header constants."""
from __future__ import annotations

import numpy as np


def fd_step(dtype: str = "float64") -> float:
    """Relative step of the central differences (the kernels' ``FD_STEP``): ``ε^(1/3)`` of
    ``dtype``, which balances a difference's O(t²) truncation against its O(ε/t) rounding
    (docs/theory.md §3)."""
    return float(np.finfo(dtype).eps ** (1.0 / 3.0))


def central_hvp(grad, x, v) -> np.ndarray:
    """``H(x) v ≈ (∇g(x + t v) − ∇g(x − t v)) / 2t`` with ``t = fd_step()·(1 + |x|)/|v|``: the
    Hessian–vector product of a game without an ``hvp`` kernel, as the kernels' ``_hvp_from_grad``
    computes it (docs/theory.md §1).  Its error is about ``ε^(2/3)`` relative (≈ 4e-11): the
    truncation ``t²|∇³g[v, v, v]|/6`` and the rounding ``ε|∇g|/t``."""
    x = np.asarray(x, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    nv = np.sqrt(v @ v)
    if nv == 0.0:
        return np.zeros_like(x)
    t = fd_step() * (1.0 + np.sqrt(x @ x)) / nv
    return (grad(x + t * v) - grad(x - t * v)) / (2.0 * t)
