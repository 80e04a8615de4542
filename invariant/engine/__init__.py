"""The chain engine: jitted kernels (generated per game by :mod:`.build`) behind
:func:`simulate`, which runs chains in chunks with checkpoints and streaming statistics."""
from .build import APPLIED_OBSERVABLES, STANDARD_OBSERVABLES, WITH_MOMENTS, Hook, observable_names
from .run import RunResult, load, require_backend, resume, simulate

__all__ = ["simulate", "resume", "require_backend", "load", "RunResult", "Hook", "STANDARD_OBSERVABLES",
           "APPLIED_OBSERVABLES", "WITH_MOMENTS", "observable_names"]
