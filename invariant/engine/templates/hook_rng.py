"""The adapter the chain loops call for a hook that draws random numbers (docs/kernels.md).

The hook gets its own stream ``rng`` and the first ``HOOK_WORK`` rows of its scratch array;
the last two rows hold copies of x and ∇g.
"""
# <header>
from numba import njit

from invariant.engine.templates._stub import HOOK_WORK, observe_extra

# </header>


@njit(cache=True, inline="always")
def _observe_extra(x, gx, p, data, rng, work, out):
    # a hook compiled apart gets heap copies of x and ∇g (the last two rows of its work
    # array): handing it the chain's own vectors would keep them out of registers
    xs = work[HOOK_WORK]
    gs = work[HOOK_WORK + 1]
    for i in range(x.shape[0]):
        xs[i] = x[i]
        gs[i] = gx[i]
    observe_extra(xs, gs, p, data, rng, work[:HOOK_WORK], out)
