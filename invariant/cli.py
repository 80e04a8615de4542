"""Command line: ``invariant run | bench`` (DESIGN.md ◆ Command line).

Exit status 0 on success, 2 on bad input with one line naming the field and the fix.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

from .errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="invariant", description="Long-run analysis of GAN training as SDEs.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="simulate chains and write summary.json and chains.nc")
    r.add_argument("config", nargs="?", help="TOML config (default: the embedded bilinear example)")
    r.add_argument("--out", help="output folder (default: invariant-out/<config name>)")
    r.add_argument("--resume", metavar="DIR", help="continue the stopped or killed run in DIR")
    r.add_argument("--chains", type=int, help="override simulation.chains")
    r.add_argument("--t-end", type=float, help="override simulation.t_end")
    r.add_argument("--seed", type=int, help="override simulation.seed")
    r.add_argument("--threads", type=int, help="numba threads (results do not depend on it)")
    r.add_argument("--force", action="store_true", help="overwrite an existing run in --out")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    b = sub.add_parser("bench", help="engine throughput against numpy and bare-numba baselines")
    b.add_argument("--json", help="write the bench JSON (DESIGN.md ◆) to this file")
    b.add_argument("--quick", action="store_true", help="short timings (for tests)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "bench":
            return _bench(args)
    except ConfigError as exc:
        print(f"invariant: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _run(args) -> int:
    from . import config, engine, stationary, storage, summary

    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError("--threads", f"must be >= 1, got {args.threads}")
        import numba

        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    progress = not args.no_progress and sys.stderr.isatty()
    if args.resume:
        if args.config or args.chains or args.t_end or args.seed is not None:
            raise ConfigError("--resume", "takes the run folder only; its config is read from DIR/config.json")
        out = Path(args.resume)
        if not (out / "config.json").exists():
            raise ConfigError("--resume", f"{out} holds no run (no config.json); start one with invariant run CONFIG --out {out}")
        result = engine.resume(out, progress=progress)
    else:
        overrides = {k: v for k, v in (("simulation.chains", args.chains), ("simulation.t_end", args.t_end),
                                       ("simulation.seed", args.seed)) if v is not None}
        cfg = config.load(args.config, overrides)
        out = Path(args.out or Path("invariant-out") / (Path(args.config).stem if args.config else "default"))
        if (out / "config.json").exists():
            if not args.force:
                raise ConfigError("--out", f"{out} already holds a run; use --resume {out} to continue it or --force to overwrite")
            shutil.rmtree(out)
        result = engine.simulate(cfg, out, progress=progress)
    m = stationary.moments(result)
    storage.write_chains(result, out)
    storage.write_summary(summary.build(result, m), out)
    _print_run(result, m, out)
    return 0


def _print_run(result, m, out) -> None:
    cfg = result.config
    print(f"{cfg.game.name} game, {cfg.scheme.name} lr={cfg.scheme.lr:g} N={cfg.scheme.batch_size}, "
          f"{cfg.dynamics} ({'order ' + str(cfg.scheme.order) if cfg.dynamics == 'sde' else 'discrete'}): "
          f"{cfg.chains} chains × {result.steps_done} steps in {result.wall_seconds:.2f} s")
    if result.n_diverged:
        first = min(result.divergences(), key=lambda d: d["t"])
        print(f"  {result.n_diverged} chain(s) diverged and were excluded (first: chain {first['chain']} at t = {first['t']:.4g})")
    with np.printoptions(precision=4, suppress=True):
        for name, mu, se in zip(result.game.param_names, m.mean, m.mean_mcse):
            print(f"  E[{name}] = {mu: .4g} ± {se:.2g}")
    print(f"  tr Cov = {m.trace_cov:.4g} ± {m.trace_cov_mcse:.2g}")
    print(f"  {m.verdict}: {m.reason}")
    print(f"  wrote {out}/summary.json, {out}/chains.nc")


def _bench(args) -> int:
    from . import bench

    report = bench.run(quick=args.quick)
    bench.print_table(report)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
