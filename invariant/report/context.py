"""What a report is built from: a run folder's ``summary.json`` and, loaded on demand, its
RunResult, relaxation runs and weak-order JSON.  Nothing here simulates."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError

#: the weak-order JSON the report shows when the run folder holds it
#: (``invariant weak-order CONFIG --json DIR/weak.json``)
WEAK_FILE = "weak.json"


def _load_run(folder: Path):
    """The RunResult of the run in ``folder``, with the FDR hook rebuilt from its config.json
    (``invariant.engine.load``: hook.json is compared with it, never run)."""
    from .. import config, fdr
    from ..engine import load

    cfg = config.from_dict(json.loads((folder / "config.json").read_text()))
    return load(folder, fdr.hook(cfg))


class Unavailable(Exception):
    """Data a section needs is not in the run folder; the message is the sentence to show."""


@dataclass
class RunContext:
    """A run folder opened for reporting.

    Attributes
    ----------
    folder : Path
    summary : dict
        ``summary.json``.
    """

    folder: Path
    summary: dict
    _result: object = None
    _result_error: str | None = None
    _cache: dict = field(default_factory=dict)

    @classmethod
    def open(cls, folder, result=None) -> "RunContext":
        """Open ``folder``; ConfigError (exit status 2) when it holds no run.

        Parameters
        ----------
        folder : path
        result : RunResult, optional
            The run already in memory (``invariant run`` passes it: nothing is re-read).
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError("DIR", f"{folder} is not a folder; give the output folder of invariant run")
        path = folder / "summary.json"
        if not path.exists():
            raise ConfigError("DIR", f"{folder} holds no run (no summary.json); make one with "
                                     f"invariant run CONFIG --out {folder}")
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError("DIR", f"{path} is not readable JSON ({exc})") from None
        if not isinstance(summary, dict):
            raise ConfigError("DIR", f"{path} does not hold a run summary")
        return cls(folder, summary, result)

    # ------------------------------------------------------------------ data on demand
    def get(self, *keys, default=None):
        """``summary[k0][k1]…`` or ``default`` when any key is missing."""
        d = self.summary
        for k in keys:
            if not isinstance(d, dict) or k not in d:
                return default
            d = d[k]
        return d

    @property
    def result(self):
        """The RunResult (``invariant.engine.load``); raises :class:`Unavailable`."""
        if self._result is None and self._result_error is None:
            if not (self.folder / "checkpoint.npz").exists():
                self._result_error = "the run folder holds no checkpoint.npz, so the kept draws are not available"
            else:
                try:
                    self._result = _load_run(self.folder)
                except Exception as exc:  # noqa: BLE001 — shown as a sentence
                    self._result_error = f"the run could not be loaded ({type(exc).__name__}: {exc})"
        if self._result is None:
            raise Unavailable(self._result_error)
        return self._result

    def live_draws(self) -> np.ndarray:
        """(live kept chains, n_draws, d) draws; :class:`Unavailable` when there are none."""
        r = self.result
        keep = r.kept_alive
        if r.draws.shape[1] == 0:
            raise Unavailable("the run kept no draws (t_end ≤ t_burn or keep_draws = 0)")
        if not np.any(keep):
            raise Unavailable("every kept chain diverged: there are no draws of a stationary law to show")
        return r.draws[keep]

    def cached(self, key, fn):
        """``fn()`` computed once per report."""
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def relaxation_runs(self) -> list:
        """The relaxation runs saved in ``DIR/relaxation`` (empty list if none)."""
        from .. import mixing

        return self.cached("relaxation", lambda: mixing.load_relaxation(self.folder))

    def weak(self):
        """The weak-order JSON ``DIR/weak.json``, or None."""
        path = self.folder / WEAK_FILE
        if not path.exists():
            return None
        return self.cached("weak", lambda: json.loads(path.read_text()))

    @property
    def names(self) -> list:
        """Coordinate names (``param_names``)."""
        names = self.summary.get("param_names")
        if names:
            return list(names)
        return list(self.result.game.param_names)
