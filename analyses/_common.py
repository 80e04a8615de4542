"""What every analysis script shares: the package on the path, the command line, the output.

Each script is run as ``python analyses/<name>.py [--out DIR] [--quick]`` from anywhere.
Every JSON a script writes carries the package version, the commit and ``quick``; a
``--quick`` run is a smoke test and draws no verdict (:func:`finish`).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's package, also when it is not installed
SMOKE = ("smoke test (--quick): a short run that checks the script end to end; its numbers are too "
         "noisy for verdicts, so none is drawn (run without --quick for them)")


def start(doc: str, argv=None):
    """Parse ``--out`` (default ``analyses/out``) and ``--quick``; make the output folder.

    With ``--quick`` the :data:`SMOKE` line comes first, so that what the script prints
    while it runs reads as a smoke test.  Returns ``(args, out, t0)`` with ``t0`` the start
    time for the JSON's ``wall_seconds``.
    """
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "analyses" / "out"), help="output folder")
    ap.add_argument("--quick", action="store_true", help="smoke test: short runs, no verdicts")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        print(SMOKE, flush=True)
    return args, out, time.perf_counter()


def save(fig, path) -> None:
    """Write a matplotlib figure at the analyses' resolution and release it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def provenance() -> dict:
    """The package version and the checkout's commit (``+dirty`` with uncommitted changes;
    None outside a git checkout) that produced a result."""
    from invariant import __version__

    def git(*cmd):
        try:
            return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD")
    if commit and git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return {"version": __version__, "commit": commit}


def finish(out, name: str, res: dict, lines, t0: float, quick: bool) -> dict:
    """Record the run time, provenance and mode, write ``OUT/<name>.json``, print the
    conclusion and what was written.

    With ``quick`` (a smoke test) the conclusion is neither printed nor stored: ``lines``
    are replaced by :data:`SMOKE` in the output and in ``res["conclusion"]``, and the JSON
    carries ``quick: true`` — short runs have once concluded the opposite of the full one.
    """
    import json

    res["wall_seconds"] = time.perf_counter() - t0
    res["quick"] = bool(quick)
    if quick:
        lines = [SMOKE]
        res["conclusion"] = lines
    res.update(provenance())
    (out / f"{name}.json").write_text(json.dumps(res, indent=1, default=float))
    print("\n".join(lines))
    print(f"wrote {out / (name + '.json')} and {out / (name + '.png')} ({res['wall_seconds']:.0f} s)")
    return res
