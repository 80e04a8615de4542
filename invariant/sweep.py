"""A grid of runs: ``invariant sweep CONFIG --set KEY=V1,V2 … [--seeds K] --out DIR`` (docs/design.md ◆).

Every point of the grid (the cartesian product of the ``--set`` lists, times ``K`` seeds) is
an ordinary run — :func:`invariant.runner.start`, what ``invariant run CONFIG --out POINTDIR``
does — written to its own folder ``DIR/<point>/``.  The points run as independent tasks on
``dask.distributed`` (a loopback :class:`~distributed.LocalCluster` of ``--workers N``
processes with one thread each, or the cluster at ``--scheduler ADDRESS``), or one after
the other in this process with ``--workers 0``.

Contract of the sweep folder:

- ``DIR/sweep.json`` — the arguments (the config's parsed table, the ``--set`` lists, the
  seeds) and the points with their folders.  A re-run into the same DIR with different
  arguments is an error (exit 2), never a silent mix.
- ``DIR/<point>/`` — a run folder (``summary.json``, ``chains.nc``, ``report.html`` unless
  ``--no-report``, checkpoints).  Its name lists the swept values and the seed, e.g.
  ``training.lr=0.05,training.batch_size=4,seed=12345``; a name that would be too long or
  hold characters other than letters, digits and ``._+-=,`` is ``p<index>-<hash>`` instead
  (the ``folder`` column and ``sweep.json`` map it to its values).
- ``DIR/sweep.csv`` — one row per point and seed (:data:`HEADLINE` columns, read from the
  point's summary.json), rewritten whenever a point finishes.
- ``DIR/sweep.html`` — the sweep report (:mod:`invariant.report.sweep`).

Seeds: replicate ``k = 0 … K−1`` of grid point ``i`` (the points in the order of the
``--set`` lists, the last key varying fastest) runs with ``simulation.seed = s + K·i + k``,
``s`` the config's seed: every row is an independent run.  With ``--common-seeds`` it runs
with ``s + k`` at every point instead (common random numbers: differences between points are
less noisy than the points themselves, but the rows are no longer independent — with a
linear game and additive noise, points that differ only in lr/N then differ by an exact
factor).  The ``seed`` column holds the seed that was run.  Sweeping ``simulation.seed``
itself is allowed with ``--seeds 1``.

Status of a row: ``ok``; ``diverged`` when one or more chains diverged (the statistics are
those of the surviving chains — ``run.diverged_chains`` says how many were lost, and with
every chain lost they are empty); ``failed: <reason>`` when the point raised (the others go
on; its traceback is in ``DIR/<point>/failed.txt``); ``pending`` for points not run yet
(only in the CSV of a sweep still running or killed).

Re-running the same command finishes what is missing: a point whose folder holds a complete
``summary.json`` is skipped; a point that was started is continued from its last checkpoint
(the engine's ``--resume``) or, if that fails, restarted cleanly; a failed point is retried;
a finished point without its ``report.html`` (killed while writing it; unless
``--no-report``) gets only its report.
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import sys
import time
import tomllib
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, config, exact, report, runner
from .config import SECTIONS
from .errors import ConfigError
from .report import sweep as sweep_report

SWEEP_FILE = "sweep.json"
CSV_FILE = "sweep.csv"
REPORT_FILE = "sweep.html"
FAILED_FILE = "failed.txt"
POINT_REPORT = "report.html"  # invariant.report.REPORT_FILE, named here without importing matplotlib
EXTRA_HINT = "install the sweep extra: pip install 'invariant[sweep]'"

#: headline scalars of a row, as dotted paths into the point's summary.json
HEADLINE = (
    "stationary.trace_cov", "stationary.trace_cov_mcse", "stationary.verdict",
    "mixing.rate", "mixing.rate_interval.lo", "mixing.rate_interval.hi",
    "conditions.verdict",
    "fdr.fdr1.residual", "fdr.fdr1.mcse",
    "fdr.fdr2_theta.residual", "fdr.fdr2_theta.mcse",
    "fdr.fdr2_omega.residual", "fdr.fdr2_omega.mcse",
    "run.chains", "run.diverged_chains", "run.wall_seconds",
)
#: columns for affine games: the exact stationary tr Cov of the simulated chain
#: (invariant.exact; the Euler–Maruyama chain for SDE runs) and z = (tr Cov − exact)/MCSE
EXACT = ("exact.trace_cov", "exact.z")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9._+\-=,]+$")
_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:+\-]*$")
_MAX_NAME = 150


# ---------------------------------------------------------------------------- the grid

@dataclass
class Point:
    """One run of the grid."""

    index: int
    values: tuple  # ((dotted key, value), …) in --set order
    seed: int
    folder: str
    table: dict = field(repr=False)  # the config table with this point's values (what the run validates)
    exact_trace_cov: float | None = None

    @property
    def label(self) -> str:
        return ",".join([f"{k}={format_value(v)}" for k, v in self.values] + [f"seed={self.seed}"])


def format_value(v) -> str:
    """A swept value as it appears in folder names and labels (TOML spelling)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def parse_value(text: str, key: str):
    """A ``--set`` value: a TOML scalar (integer, float, boolean, quoted string); a bare
    word such as ``alt-d`` is taken as a string."""
    s = text.strip()
    if not s:
        raise ConfigError(f"--set {key}", "empty value; give comma-separated values, e.g. --set training.lr=0.05,0.1")
    try:
        v = tomllib.loads(f"v = {s}")["v"]
    except tomllib.TOMLDecodeError:
        try:
            return int(s) if re.fullmatch(r"[+-]?\d+", s) else float(s)
        except ValueError:
            pass
        if _BARE.match(s):
            return s
        raise ConfigError(f"--set {key}", f"value {s!r} is not parseable as a TOML scalar (number, true/false, or string)") from None
    if not isinstance(v, (int, float, bool, str)):
        raise ConfigError(f"--set {key}", f"value {s!r} must be a scalar (number, true/false, string), not a {type(v).__name__}")
    return v


def parse_sets(sets) -> list[tuple[str, list]]:
    """``["training.lr=0.05,0.1", …]`` to ``[("training.lr", [0.05, 0.1]), …]``."""
    out = []
    for item in sets or []:
        if "=" not in item:
            raise ConfigError("--set", f"expected KEY=V1,V2,…, got {item!r}")
        key, _, vals = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if len(parts) < 2 or not all(p.strip() for p in parts):
            raise ConfigError(f"--set {key or '?'}", "KEY must be a dotted config key such as training.lr or simulation.chains")
        if parts[0] not in SECTIONS:
            raise ConfigError(f"--set {key}", f"unknown section {parts[0]!r}; allowed: {', '.join(SECTIONS)}")
        if any(k == key for k, _ in out):
            raise ConfigError(f"--set {key}", "given twice; list all its values in one --set")
        values = [parse_value(v, key) for v in vals.split(",")]
        seen = []
        for v in values:
            if any(type(v) is type(w) and v == w for w in seen):
                raise ConfigError(f"--set {key}", f"value {format_value(v)} is listed twice")
            seen.append(v)
        out.append((key, values))
    return out


def _set_key(table: dict, key: str, value) -> None:
    node = table
    parts = key.split(".")
    for i, p in enumerate(parts[:-1]):
        nxt = node.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {key}", f"{'.'.join(parts[:i + 1])} is not a table in the config")
        node = nxt
    node[parts[-1]] = value


def _blame(exc: ConfigError, keys) -> str | None:
    """The swept key a validation error is about, if any."""
    for k in keys:
        if exc.field == k or k.startswith(exc.field + ".") or exc.field.startswith(k + "."):
            return k
    return None


def _folder_name(index: int, values, seed: int) -> str:
    name = ",".join([f"{k}={format_value(v)}" for k, v in values] + [f"seed={seed}"])
    if len(name) <= _MAX_NAME and _SAFE_NAME.match(name) and name not in (".", ".."):
        return name
    return f"p{index:04d}-{hashlib.sha1(name.encode()).hexdigest()[:10]}"


def build_points(base: dict, sets, seeds: int = 1, common_seeds: bool = False) -> list[Point]:
    """Every point of the grid, each validated (:func:`invariant.config.from_dict`) before
    anything runs; a bad value raises ConfigError naming its ``--set`` key.  Seeds: see the
    module docstring."""
    import copy

    if seeds < 1:
        raise ConfigError("--seeds", f"must be >= 1, got {seeds}")
    keys = [k for k, _ in sets]
    if "simulation.seed" in keys and seeds > 1:
        raise ConfigError("--seeds", "simulation.seed is swept with --set; use --seeds 1 (the default)")
    points = []
    combos = list(itertools.product(*[vals for _, vals in sets]))
    base_error = None
    try:
        base_seed = config.from_dict(base).seed
    except ConfigError as exc:  # the config may need the swept values; judged point by point below
        base_error, base_seed = exc, None
    for i, combo in enumerate(combos):
        values = tuple(zip(keys, combo))
        for k in range(seeds):
            table = copy.deepcopy(base)
            for key, v in values:
                _set_key(table, key, v)
            if "simulation.seed" not in keys:
                if base_seed is None:
                    raw = table.get("simulation", {}).get("seed", 12345)
                    base_seed = raw if isinstance(raw, int) and not isinstance(raw, bool) else 12345
                _set_key(table, "simulation.seed", base_seed + k + (0 if common_seeds else i * seeds))
            label = ",".join(f"{key}={format_value(v)}" for key, v in values)
            try:
                cfg = config.from_dict(table)
            except ConfigError as exc:
                culprit = _blame(exc, keys)
                if culprit is None and base_error is not None and base_error.field == exc.field:
                    raise base_error from None  # the config's own error, whatever is swept
                name = f"--set {culprit}" if culprit else "--set " + ",".join(keys)
                raise ConfigError(name, f"at {label or 'the config'}: {exc}") from None
            idx = len(points)
            points.append(Point(idx, values, cfg.seed, _folder_name(idx, values, cfg.seed), table,
                                exact_trace_cov(cfg)))
    return points


def exact_trace_cov(cfg) -> float | None:
    """tr of the exact stationary covariance of the chain the config simulates, for affine
    games (docs/theory.md §4, :mod:`invariant.exact`): the Euler–Maruyama chain of the SDE (step
    ``dt``) or the discrete training itself; None otherwise or without a stationary law."""
    if not getattr(cfg.game, "affine", False):
        return None
    try:
        import numpy as np

        game, sch = cfg.game, cfg.scheme
        if cfg.dynamics == "sga":
            P = exact.discrete_stationary(*exact.discrete(game, sch.name, sch.lr, sch.batch_size, sch.batches))[1]
        else:
            A, c = exact.drift(game, sch.name, sch.order, sch.lr)
            D = exact.diffusion(game, sch.lr, sch.batch_size, sch.correction, sch.batches)
            P = exact.discrete_stationary(np.eye(game.d) + cfg.dt * A, cfg.dt * c, cfg.dt * D)[1]
        tr = float(np.trace(P))
        return tr if math.isfinite(tr) else None
    except Exception:  # noqa: BLE001 — no stationary law (unstable), or not covered by invariant.exact
        return None


# ---------------------------------------------------------------------------- one point

def summary_complete(folder) -> dict | None:
    """The point's summary.json when it is complete (parses and has the run and stationary
    sections), else None."""
    path = Path(folder) / "summary.json"
    try:
        summ = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(summ, dict) or "run" not in summ or "stationary" not in summ:
        return None
    return summ


def _one_line(exc: BaseException, limit: int = 240) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_point(spec: dict) -> dict:
    """Run one point (on a Dask worker or in this process): resume a started run, else start
    it afresh; then the per-point report.  Never raises: returns ``{"ok", "how", "reason",
    "seconds", "warning"}``."""
    t0 = time.perf_counter()
    out = Path(spec["out"])
    how = "fresh"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the summary records what matters; keep the terminal readable
            if spec.get("threads"):
                import numba

                numba.set_num_threads(max(1, min(int(spec["threads"]), numba.config.NUMBA_NUM_THREADS)))
            cfg = config.from_dict(spec["table"])
            done = None
            if summary_complete(out) is not None:  # finished, but killed before its report was written
                warning = _point_report(out, None) if spec.get("report", True) else ""
                return {"ok": True, "how": "finished before", "reason": "", "seconds": time.perf_counter() - t0,
                        "warning": warning}
            if _same_run(out, cfg):
                try:
                    done = runner.resume(out)
                    how = "resumed"
                except Exception:  # noqa: BLE001 — a damaged checkpoint: start over below
                    done = None
                    how = "restarted"
            if done is None:
                if out.exists():
                    shutil.rmtree(out)
                done = runner.start(cfg, out)
            warning = _point_report(out, done.result) if spec.get("report", True) else ""
        return {"ok": True, "how": how, "reason": "", "seconds": time.perf_counter() - t0, "warning": warning}
    except BaseException as exc:  # noqa: BLE001 — one failing point must not stop the others
        if isinstance(exc, KeyboardInterrupt):
            raise
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / FAILED_FILE).write_text(traceback.format_exc())
        except OSError:
            pass
        return {"ok": False, "how": how, "reason": _one_line(exc), "seconds": time.perf_counter() - t0, "warning": ""}


def _point_report(out: Path, result) -> str:
    """The point's report.html (as ``invariant run`` writes it); a failure is a warning."""
    try:
        report.build(out, result=result)
    except Exception as exc:  # noqa: BLE001 — the run is saved; invariant report DIR rebuilds it
        return f"report not written ({_one_line(exc, 160)}); rebuild it with: invariant report {out}"
    return ""


def _same_run(out: Path, cfg) -> bool:
    """True when ``out`` holds a started run of exactly this config."""
    try:
        return json.loads((out / "config.json").read_text()) == json.loads(json.dumps(cfg.resolved))
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------------------- rows and files

def _get(d, path: str):
    node = d
    for p in path.split("."):
        if isinstance(node, dict) and p in node:
            node = node[p]
        elif isinstance(node, list) and p in ("lo", "hi") and len(node) == 2:
            node = node[0 if p == "lo" else 1]
        else:
            return None
    if isinstance(node, float) and not math.isfinite(node):
        return None
    return node if isinstance(node, (int, float, str, bool)) or node is None else None


def columns(points) -> list[str]:
    """The CSV header: swept keys, seed, status, headline scalars (exact columns for affine
    games), folder."""
    keys = [k for k, _ in points[0].values] if points else []
    exact_cols = list(EXACT) if any(p.exact_trace_cov is not None for p in points) else []
    return [k for k in keys if k != "simulation.seed"] + ["seed", "status", *HEADLINE, *exact_cols, "folder"]


def make_row(point: Point, summ: dict | None, status: str) -> dict:
    row = {k: v for k, v in point.values}
    row.update(seed=point.seed, status=status, folder=point.folder)
    for h in HEADLINE:
        row[h] = _get(summ, h) if summ else None
    row["exact.trace_cov"] = point.exact_trace_cov
    tr, se = row["stationary.trace_cov"], row["stationary.trace_cov_mcse"]
    z = None
    if point.exact_trace_cov is not None and isinstance(tr, (int, float)) and isinstance(se, (int, float)) and se > 0:
        z = (tr - point.exact_trace_cov) / se
    row["exact.z"] = z
    return row


def status_of(summ: dict) -> str:
    n = _get(summ, "run.diverged_chains")
    return "diverged" if n else "ok"


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def write_csv(path, cols, rows) -> None:
    """Write the rows (dicts) atomically (a kill mid-write keeps the previous file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in cols])
    os.replace(tmp, path)


_IDENTITY = ("config", "set", "seeds", "common_seeds")


def _identity(base: dict, sets, seeds: int, common_seeds: bool) -> dict:
    return json.loads(json.dumps({"config": base, "set": [[k, v] for k, v in sets], "seeds": seeds,
                                  "common_seeds": common_seeds}))


def _check_dir(out: Path, ident: dict) -> None:
    """A sweep DIR is new, empty, or holds this very sweep (exit 2 otherwise)."""
    path = out / SWEEP_FILE
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            raise ConfigError("--out", f"{path} is damaged; remove {out} or choose another --out") from None
        prev = {k: old.get(k) for k in _IDENTITY}
        if prev != ident:
            what = [k for k in _IDENTITY if prev.get(k) != ident[k]]
            raise ConfigError("--out", f"{out} holds a sweep with different arguments ({', '.join(what)} differ); "
                              "re-run it with its own arguments (see sweep.json) or choose another --out")
    elif out.exists():
        if not out.is_dir():
            raise ConfigError("--out", f"{out} is not a folder")
        if any(out.iterdir()):
            raise ConfigError("--out", f"{out} is not empty and holds no sweep ({SWEEP_FILE}); choose another --out")


def _write_sweep_json(out: Path, ident: dict, points, cli_args: dict) -> None:
    doc = dict(ident)
    doc["arguments"] = cli_args
    doc["version"] = __version__
    doc["points"] = [{"folder": p.folder, "values": {k: v for k, v in p.values}, "seed": p.seed} for p in points]
    tmp = out / f".{SWEEP_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, out / SWEEP_FILE)


# ---------------------------------------------------------------------------- the sweep

@dataclass
class SweepResult:
    """What a sweep did: ``rows`` (one dict per point and seed, CSV columns), and counts of
    points ``skipped`` (finished before), ``run`` (of which ``resumed``), ``failed``."""

    out: Path
    columns: list
    rows: list
    skipped: int = 0
    run: int = 0
    resumed: int = 0
    failed: int = 0
    wall_seconds: float = 0.0
    report: Path | None = None
    report_error: str = ""
    warnings: list = field(default_factory=list)


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def sweep(config_path, sets, seeds: int, out, workers: int | None = None, scheduler: str | None = None,
          report: bool = True, progress: bool = False, cli_args: dict | None = None,
          common_seeds: bool = False) -> SweepResult:
    """Run the grid (see the module docstring); bad input raises ConfigError before anything
    runs.

    Parameters
    ----------
    config_path : path or None
        The TOML config (None: the embedded default example).
    sets : list of (key, values)
        From :func:`parse_sets`.
    seeds : int
        Replicates per point.
    common_seeds : bool
        The same seeds at every point (common random numbers) instead of a seed per row.
    out : path
        The sweep folder.
    workers : int or None
        0: one point after the other in this process (no Dask); N ≥ 1: a LocalCluster of N
        single-threaded worker processes on 127.0.0.1; None: as many as there are cores
        (at most the number of points to run).
    scheduler : str, optional
        Address of a running Dask scheduler (its workers must see ``out`` at the same path).
    report : bool
        Write each point's report.html (the sweep report sweep.html is always written).
    """
    t_start = time.perf_counter()
    if workers is not None and workers < 0:
        raise ConfigError("--workers", f"must be >= 0, got {workers}")
    if workers is not None and scheduler:
        raise ConfigError("--scheduler", "give either --workers or --scheduler")
    base = config.read_table(config_path)
    points = build_points(base, sets, seeds, common_seeds)
    out = Path(out).absolute()
    ident = _identity(base, sets, seeds, common_seeds)
    _check_dir(out, ident)
    use_dask = scheduler is not None or workers != 0
    if use_dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ConfigError("--workers", f"dask.distributed is not installed; {EXTRA_HINT} "
                              "(or run the points in this process with --workers 0)") from None
    out.mkdir(parents=True, exist_ok=True)
    _write_sweep_json(out, ident, points, cli_args or {})

    cols = columns(points)
    rows: dict[int, dict] = {}
    pending = []
    res = SweepResult(out=out, columns=cols, rows=[])
    for p in points:
        summ = summary_complete(out / p.folder)
        if summ is not None:
            rows[p.index] = make_row(p, summ, status_of(summ))
            if report and not (out / p.folder / POINT_REPORT).exists():
                pending.append(p)  # killed while writing its report: only the report is built
            else:
                res.skipped += 1
        else:
            rows[p.index] = make_row(p, None, "pending")
            pending.append(p)

    def flush():
        write_csv(out / CSV_FILE, cols, [rows[p.index] for p in points])

    flush()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(points), initial=res.skipped, unit="point", desc="sweep", file=sys.stderr)

    def record(p: Point, outcome: dict) -> None:
        summ = summary_complete(out / p.folder) if outcome.get("ok") else None
        if outcome.get("ok") and summ is not None:
            rows[p.index] = make_row(p, summ, status_of(summ))
            if outcome.get("how") == "finished before":
                res.skipped += 1
            else:
                res.run += 1
                res.resumed += outcome.get("how") == "resumed"
        else:
            reason = outcome.get("reason") or "the run left no complete summary.json"
            rows[p.index] = make_row(p, None, f"failed: {reason}")
            res.run += 1
            res.failed += 1
        if outcome.get("warning"):
            res.warnings.append(f"{p.folder}: {outcome['warning']}")
        flush()
        if bar is not None:
            bar.update(1)

    specs = {p.index: {"out": str(out / p.folder), "table": p.table, "report": report} for p in points}
    try:
        if not pending:
            pass
        elif not use_dask:
            for p in pending:
                record(p, run_point(specs[p.index]))
        else:
            _run_on_dask(pending, specs, record, workers, scheduler)
    finally:
        if bar is not None:
            bar.close()
    res.rows = [rows[p.index] for p in points]
    flush()
    res.wall_seconds = time.perf_counter() - t_start
    try:
        if res.run == 0 and (out / REPORT_FILE).exists():
            res.report = out / REPORT_FILE  # nothing new since it was written
        else:
            res.report = sweep_report.build(out)
    except Exception as exc:  # noqa: BLE001 — the CSV is written; the report is a rendering of it
        res.report_error = _one_line(exc)
    return res


def _run_on_dask(pending, specs, record, workers, scheduler) -> None:
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except Exception as exc:  # noqa: BLE001
            raise ConfigError("--scheduler", f"cannot connect to {scheduler}: {_one_line(exc)}") from None
        threads = None  # the workers' own numba setting
    else:
        n = workers if workers is not None else min(_default_workers(), len(pending))
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        threads = max(1, (os.cpu_count() or 1) // n)  # one numba thread per core, shared by the workers
    try:
        futures = {}
        for p in pending:
            spec = dict(specs[p.index], threads=threads)
            futures[client.submit(run_point, spec, pure=False, key=f"invariant-point-{p.index}-{os.urandom(4).hex()}")] = p
        for fut in as_completed(futures):
            p = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # noqa: BLE001 — the worker died (KilledWorker, memory): this point fails
                outcome = {"ok": False, "reason": _one_line(exc), "how": "fresh"}
            record(p, outcome)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def format_summary(res: SweepResult) -> str:
    """The lines ``invariant sweep`` prints at the end."""
    n = len(res.rows)
    st = [r["status"] for r in res.rows]
    ok, div = st.count("ok"), st.count("diverged")
    failed = [r for r in res.rows if r["status"].startswith("failed")]
    lines = [f"{n} points: {res.skipped} finished before (skipped), {res.run} run"
             + (f" ({res.resumed} resumed)" if res.resumed else "")
             + f" — {ok} ok, {div} diverged, {len(failed)} failed in {res.wall_seconds:.1f} s"]
    for r in failed[:10]:
        lines.append(f"  {r['folder']}: {r['status']}")
    zs = [abs(r["exact.z"]) for r in res.rows if r.get("exact.z") is not None]
    if zs:
        unsettled = sum(r.get("stationary.verdict") == "not settled" for r in res.rows if r.get("exact.z") is not None)
        lines.append(f"  tr Cov against the exact stationary law: max |z| = {max(zs):.2f} over {len(zs)} points"
                     + (f" ({unsettled} not settled: lengthen t_end or t_burn)" if unsettled else ""))
    for w in res.warnings[:5]:
        lines.append(f"  warning: {w}")
    lines.append(f"  wrote {res.out / CSV_FILE}" + (f", {res.report}" if res.report else ""))
    if res.report_error:
        lines.append(f"  warning: sweep report not written ({res.report_error})")
    return "\n".join(lines)
