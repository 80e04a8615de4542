"""Command line: ``invariant run | check | weak-order | report | bench | sweep`` (docs/design.md ◆ Command line).

Exit status 0 on success, 2 on bad input with one line naming the field and the fix (a
file that cannot be read or written, a full disk, included).
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

import numpy as np

from . import __version__
from .errors import ConfigError


class _WeakDefaults(argparse.HelpFormatter):
    """Help that states ``invariant.weak.WeakOptions``' defaults (``{lrs}``, ``{horizon}``),
    read only when help is shown: importing that module (and scipy) costs every command a second."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "{" not in text:
            return text
        from .weak import WeakOptions

        opts = WeakOptions()
        return text.format(lrs=",".join(f"{v:g}" for v in opts.lrs), horizon=f"{opts.horizon:g}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="invariant", description="Long-run analysis of GAN training as SDEs.")
    p.add_argument("--version", action="version", version=f"invariant {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="simulate chains and write summary.json and chains.nc")
    r.add_argument("config", nargs="?", help="TOML config (default: the embedded bilinear example)")
    r.add_argument("--out", help="output folder (default: invariant-out/<config name>)")
    r.add_argument("--resume", metavar="DIR", help="continue the stopped or killed run in DIR")
    r.add_argument("--chains", type=int, help="override simulation.chains")
    r.add_argument("--t-end", type=float, help="override simulation.t_end")
    r.add_argument("--seed", type=int, help="override simulation.seed")
    r.add_argument("--threads", type=int, help="numba threads (results do not depend on it)")
    r.add_argument("--force", action="store_true",
                   help="replace the run in --out: removes only the files and folders a run writes there, "
                        "and refuses a folder holding no run, or the current folder")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    c = sub.add_parser("check", help="conditions C1–C4 for a unique invariant measure (docs/theory.md §4), no simulation")
    c.add_argument("config", nargs="?", help="TOML config (default: the embedded bilinear example)")
    c.add_argument("--json", help="write {\"conditions\": …} (docs/design.md ◆ summary.json fields) to this file")
    w = sub.add_parser("weak-order", help="weak errors and fitted orders of each SDE against each discrete scheme (docs/theory.md §3, §8)",
                       formatter_class=_WeakDefaults)
    w.add_argument("config", nargs="?", help="TOML config (default: the embedded bilinear example)")
    w.add_argument("--lrs", help="comma-separated learning rates, e.g. 0.2,0.1,0.05 (default: [weak] lrs or {lrs})")
    w.add_argument("--json", help="write the weak-order JSON (docs/design.md ◆) to this file")
    w.add_argument("--horizon", type=float, help="SDE time T at which errors are measured (default: [weak] horizon or {horizon})")
    w.add_argument("--paths", type=int, help="Monte Carlo paths per scheme and lr (non-affine games)")
    w.add_argument("--seed", type=int, help="Monte Carlo seed")
    w.add_argument("--method", choices=("auto", "exact", "monte-carlo"), default="auto",
                   help="exact moment recursions (affine games) or Monte Carlo (default: auto)")
    rp = sub.add_parser("report", help="(re)build the HTML report of a run folder (DIR/report.html) or of a sweep folder (DIR/sweep.html)")
    rp.add_argument("dir", metavar="DIR", help="run folder written by invariant run, or sweep folder written by invariant sweep")
    rp.add_argument("--out", help="output file (default: DIR/report.html, DIR/sweep.html for a sweep)")
    sw = sub.add_parser("sweep", help="a grid of runs (cartesian product of --set lists × seeds) on Dask, gathered in DIR/sweep.csv",
                        description="Run every point of the grid as its own run in DIR/<point>/ and gather the headline "
                                    "scalars in DIR/sweep.csv and DIR/sweep.html; re-running the same command skips "
                                    "finished points and continues started ones.")
    sw.add_argument("config", nargs="?", help="TOML config (default: the embedded bilinear example)")
    sw.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2,…", dest="sets",
                    help="a dotted config key and its values (TOML scalars; bare words are strings), e.g. "
                         "training.lr=0.02,0.05; repeat for more keys")
    sw.add_argument("--seeds", type=int, default=1, help="replicates per point (default 1); row j of the grid runs with "
                                                          "simulation.seed + j, every row independent")
    sw.add_argument("--common-seeds", action="store_true", help="the same seeds simulation.seed + 0 … K-1 at every point "
                                                               "(common random numbers: rows not independent)")
    sw.add_argument("--out", required=True, help="the sweep folder")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="LocalCluster worker processes (default: one per core); "
                                                  "0 runs the points one after the other in this process, without Dask")
    where.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                                              "(its workers must see --out at the same path)")
    sw.add_argument("--no-report", action="store_true", help="no report.html per point (sweep.html is still written)")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    b = sub.add_parser("bench", help="engine throughput against numpy and bare-numba baselines")
    b.add_argument("--json", help="write the bench JSON (docs/design.md ◆) to this file")
    b.add_argument("--quick", action="store_true", help="short timings (for tests)")
    b.add_argument("--backend", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: the GPU engine against a bare Numba-CUDA kernel (needs a GPU, or the simulator)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "check":
            return _check(args)
        if args.command == "weak-order":
            return _weak_order(args)
        if args.command == "report":
            return _report(args)
        if args.command == "sweep":
            return _sweep(args)
    except ConfigError as exc:
        print(f"invariant: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout went away mid-command (`| head -1`)
        _mute_stdout()
        return 1
    except OSError as exc:  # a file or folder that cannot be read or written
        print(f"invariant: error: {_os_reason(exc)}", file=sys.stderr)
        return 2
    return 0


def _os_reason(exc: OSError) -> str:
    """One line for an OSError: what failed, on which file."""
    what = "no space left on the device" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))
    return f"{exc.filename}: {what}" if exc.filename else what


def _say(*parts) -> None:
    """``print`` to stdout that outlives its reader: once the pipe is closed (``| head -1``),
    the rest goes to /dev/null and the command carries on (the run still writes its report)."""
    try:
        print(*parts, flush=True)
    except BrokenPipeError:
        _mute_stdout()


def _mute_stdout() -> None:
    """Point stdout at /dev/null (the Python docs' recipe for SIGPIPE): the interpreter's
    final flush then has nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _note(line: str) -> None:
    """A line for the user on stderr (not part of the results on stdout)."""
    print(f"invariant: {line}", file=sys.stderr, flush=True)


def _run(args) -> int:
    from . import config, runner, storage

    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError("--threads", f"must be >= 1, got {args.threads}")
        import numba

        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    progress = not args.no_progress and sys.stderr.isatty()
    if args.resume:
        given = [name for name, v in (("CONFIG", args.config), ("--out", args.out), ("--chains", args.chains),
                                      ("--t-end", args.t_end), ("--seed", args.seed), ("--force", args.force or None))
                 if v is not None]
        if given:
            raise ConfigError("--resume", f"takes the run folder only (not {', '.join(given)}); "
                                          "its config is read from DIR/config.json")
        out = Path(args.resume)
        done = _saving(out, lambda: runner.resume(out, progress=progress, notify=_note))
    else:
        overrides = {k: v for k, v in (("simulation.chains", args.chains), ("simulation.t_end", args.t_end),
                                       ("simulation.seed", args.seed)) if v is not None}
        cfg = config.load(args.config, overrides)
        out = Path(args.out or Path("invariant-out") / (Path(args.config).stem if args.config else "default"))
        if (out / "config.json").exists() and not args.force:
            if not storage.holds_run(out):
                raise ConfigError("--out", f"{out} holds a config.json that is not a run's; pick another --out")
            raise ConfigError("--out", f"{out} already holds a run; use --resume {out} to continue it or --force to "
                                       "replace it")
        # conditions, simulation with the FDR hook, analyses
        done = _saving(out, lambda: runner.start(cfg, out, progress=progress, notify=_note, replace=args.force))
    result, m = done.result, done.moments
    _print_run(result, m, out)
    _say(f"  conditions (docs/theory.md §4): {done.conditions.get('verdict')} — {done.conditions.get('reason')}")
    _print_longrun(done.longrun)
    _print_fdr(done.summary["fdr"])
    _write_report(out, result)
    return 0


def _saving(out: Path, work):
    """``work()``, with a full disk said in one line: the partial files are removed, and the
    folder keeps its last good checkpoint, which ``--resume`` continues."""
    from . import storage

    try:
        return work()
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        storage.remove_partial(out)
        raise ConfigError(str(out), f"no space left on the device ({exc.filename or 'writing the run'}); "
                                    f"free some, then continue with: invariant run --resume {out}") from None


def _write_report(out, result) -> None:
    """The report at the end of a run; a failure loses nothing (summary.json and chains.nc
    are written) and is a warning."""
    import time

    from .runner import quiet_numerics

    t0 = time.perf_counter()
    try:
        from . import report

        with quiet_numerics():
            path = report.build(out, result=result)
    except Exception as exc:  # noqa: BLE001 — the run is saved; the report can be rebuilt
        print(f"  warning: report not written ({type(exc).__name__}: {exc}); "
              f"rebuild it with: invariant report {out}", file=sys.stderr)
        return
    _say(f"  wrote {path} ({time.perf_counter() - t0:.1f} s)")


def _report(args) -> int:
    import time

    from . import report
    from .runner import quiet_numerics

    t0 = time.perf_counter()
    if (Path(args.dir) / "sweep.json").exists():  # a sweep folder: its report of the grid
        from .report import sweep

        with quiet_numerics():
            path = sweep.build(args.dir, args.out)
    else:
        with quiet_numerics():
            path = report.build(args.dir, args.out)
    _say(f"wrote {path} ({time.perf_counter() - t0:.1f} s)")
    return 0


def _print_fdr(sec) -> None:
    if "skipped" in sec:
        _say(f"  FDRs: not meaningful ({sec['skipped']})")
        return
    if "error" in sec:
        _say(f"  FDRs: not available ({sec['error']})")
        return
    form = "exact discrete form" if sec["form"] == "discrete" else "SDE form, Euler–Maruyama term apart"
    parts = [f"{k} {sec[k]['lhs']:.4g} vs {sec[k]['rhs']:.4g} (z = {sec[k]['z']:.1f})"
             for k in ("fdr1", "fdr2_theta", "fdr2_omega")]
    _say(f"  FDRs ({form}): " + "; ".join(parts))


def _unreliable(mix: dict) -> str:
    """The end of the κ line of an unreliable headline: the draws too sparse for κ, with the
    ``keep_draws`` that would do (``mixing.note``), else the headline method's own note."""
    if mix.get("note"):
        return f"; NOT RELIABLE: {mix['note']}"
    return f"; NOT RELIABLE ({mix['methods'].get(mix['method'], {}).get('note') or 'see summary.json'})"


def _print_longrun(longrun) -> None:
    mix = longrun["mixing"] or {}
    if "rate" in mix:
        lo, hi = mix["rate_interval"]
        _say(f"  mixing rate κ = {mix['rate']:.4g} [{lo:.4g}, {hi:.4g}] ({mix['method']}); "
             + ", ".join(f"{k} {v['rate']:.4g}" for k, v in mix["methods"].items() if v.get("rate") is not None)
             + ("; methods DISAGREE" if mix["disagreement"] else "")
             + ("" if mix.get("reliable", True) else _unreliable(mix)))
    elif mix:
        _say(f"  mixing rate: {mix.get('skipped') or 'failed (' + str(mix.get('error')) + ')'}")
    if mix.get("warning"):
        _say(f"  warning: {mix['warning']}")
    fp = longrun["fokker_planck"]
    if fp and "l1" in fp:
        _say(f"  Fokker–Planck {fp['grid'][0]}×{fp['grid'][1]}: gap {fp['gap']:.4g}, "
             f"L1 to the draws {fp['l1']:.3g} (noise floor {fp['l1_noise']:.3g})")
    gen = (longrun["strategies"] or {}).get("generated")
    if gen and "w1" in gen:  # 1-D data
        _say(f"  generated vs data: W1 = {gen['w1']:.3g} ± {gen['w1_se']:.2g}, KS = {gen['ks']:.3g} ± {gen['ks_se']:.2g}")
    if gen and "modes_covered" in gen:  # data with known modes
        _say(f"  modes covered {gen['modes_covered']:.2f} ± {gen['modes_covered_se']:.2f} of {gen['n_modes']}, "
             f"high-quality fraction {gen['high_quality_fraction']:.3f} ± {gen['high_quality_fraction_se']:.3f}, "
             f"mode KL {gen['mode_kl']:.3f} ± {gen['mode_kl_se']:.3f}, mode hops per unit time "
             f"{gen['mode_hops_per_unit_time']:.3f} ± {gen['mode_hops_per_unit_time_se']:.3f}")


def _check(args) -> int:
    from . import conditions, config, storage

    cfg = config.load(args.config)
    res = conditions.check_config(cfg)
    _say(conditions.format_report(res))
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(storage.jsonable({"conditions": res.to_dict()}), indent=2))
    return 0


def _weak_order(args) -> int:
    from . import config, storage, weak

    cfg = config.load(args.config)
    over = {"horizon": args.horizon, "paths": args.paths, "seed": args.seed}
    if args.lrs is not None:
        try:
            over["lrs"] = [float(v) for v in args.lrs.split(",") if v.strip()]
        except ValueError:
            raise ConfigError("--lrs", f"must be comma-separated numbers, e.g. 0.2,0.1,0.05; got {args.lrs!r}") from None
    try:
        opts = (cfg.weak or weak.WeakOptions()).updated(over, cfg.game.d)
    except ConfigError as exc:  # name the command-line option where one was given
        key = exc.field.split(".", 1)[-1]
        if over.get(key) is not None:
            raise ConfigError(f"--{key}", exc.message) from None
        raise
    if args.method == "exact" and not getattr(cfg.game, "affine", False):
        raise ConfigError("--method", f"exact needs an affine game; {cfg.game.name!r} is not (use monte-carlo)")
    res = weak.weak_order(cfg, opts, method=args.method)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(storage.jsonable(res), indent=2))
    _say(weak.format_report(res))
    return 0


def _print_run(result, m, out) -> None:
    cfg = result.config
    _say(f"{cfg.game.name} game, {cfg.scheme.name} lr={cfg.scheme.lr:g} N={cfg.scheme.batch_size}, "
         f"{cfg.dynamics} ({f'order {cfg.scheme.order}, {cfg.scheme.diffusion_name} diffusion' if cfg.dynamics == 'sde' else 'discrete'}): "
         f"{cfg.chains} chains × {result.steps_done} steps in {result.wall_seconds:.2f} s")
    if result.n_diverged:
        first = min(result.divergences(), key=lambda d: d["t"])
        _say(f"  {result.n_diverged} chain(s) diverged and were excluded (first: chain {first['chain']} at t = {first['t']:.4g})")
    with np.printoptions(precision=4, suppress=True):
        shown = 12  # a network's thousand parameters are in summary.json, not on the terminal
        for name, mu, se in list(zip(result.game.param_names, m.mean, m.mean_mcse))[:shown]:
            _say(f"  E[{name}] = {mu: .4g} ± {se:.2g}")
        if result.game.d > shown:
            _say(f"  … and {result.game.d - shown} more parameters (summary.json: stationary.mean)")
    _say(f"  tr Cov = {m.trace_cov:.4g} ± {m.trace_cov_mcse:.2g}")
    _say(f"  {m.verdict}: {m.reason}")
    _say(f"  wrote {out}/summary.json, {out}/chains.nc")


def _sweep(args) -> int:
    from . import sweep

    sets = sweep.parse_sets(args.sets)
    res = sweep.sweep(args.config, sets, args.seeds, args.out, workers=args.workers, scheduler=args.scheduler,
                      report=not args.no_report, progress=not args.no_progress and sys.stderr.isatty(),
                      common_seeds=args.common_seeds,
                      cli_args={"config": str(Path(args.config).absolute()) if args.config else None,
                                "set": list(args.sets), "seeds": args.seeds, "common_seeds": args.common_seeds,
                                "workers": args.workers,
                                "scheduler": args.scheduler, "no_report": args.no_report})
    _say(sweep.format_summary(res))
    return 1 if res.failed else 0


def _bench(args) -> int:
    if args.backend == "cuda":
        from . import bench_cuda as bench
    else:
        from . import bench

    report = bench.run(quick=args.quick)
    bench.print_table(report)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
