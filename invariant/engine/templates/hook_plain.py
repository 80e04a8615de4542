"""The adapter the chain loops call for a hook that draws no random numbers (docs/kernels.md).

``observe_extra`` is the hook's own function (:class:`invariant.engine.build.Hook`), whose
source the renderer places in the module beside this.
"""
# <header>
from numba import njit

from invariant.engine.templates._stub import observe_extra

# </header>


@njit(cache=True, inline="always")
def _observe_extra(x, gx, p, data, rng, work, out):
    observe_extra(x, gx, p, data, out)
