"""invariant sweep: a grid of runs, one folder each, gathered in sweep.csv (docs/design.md ◆ Command line)."""
import csv
import json
import os
import sys

import pytest

from invariant import cli, config, runner, sweep

CONFIG = """
[game]
name = "bilinear"
C = [[1.0, 0.4], [-0.3, 0.8]]
lam = 0.3
gam = 0.5
Sigma_theta = [[1.0, 0.0], [0.0, 0.5]]
Sigma_omega = [[0.8, 0.1], [0.1, 0.6]]

[training]
scheme = "alt-d"
lr = 0.05
batch_size = 4

[simulation]
chains = 4
t_end = 4.0
t_burn = 1.0
chunks = 4
keep_draws = 100
seed = 11

[mixing]
bootstrap = 20
fokker_planck = false
"""
GRID = ["--set", "training.lr=0.05,0.1", "--set", "training.batch_size=2,4"]
FAILING = "training.lr=0.1,training.batch_size=4,seed=14"


def _rows(d):
    with open(d / "sweep.csv", newline="") as f:
        return list(csv.DictReader(f))


def _sweep(cfg, out, *extra):
    return cli.main(["sweep", str(cfg), *GRID, "--out", str(out), "--workers", "0", "--no-report", *extra])


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A 2 × 2 bilinear sweep run in this process; the point lr=0.1, N=4 fails on this first run."""
    d = tmp_path_factory.mktemp("sweep")
    cfg = d / "c.toml"
    cfg.write_text(CONFIG)
    real = runner.start

    def start(c, out, progress=False):
        if out.name == FAILING:
            raise RuntimeError("boom, on purpose")
        return real(c, out, progress)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "start", start)
        rc = _sweep(cfg, d / "out")
    return cfg, d / "out", rc, _rows(d / "out")


def test_csv_has_a_row_per_point_with_the_headline_columns(grid):
    _, out, rc, rows = grid
    assert rc == 1  # a point failed: the others ran, the exit status says so
    cols = list(rows[0])
    assert cols[:4] == ["training.lr", "training.batch_size", "seed", "status"]
    for c in ("stationary.trace_cov", "stationary.trace_cov_mcse", "stationary.verdict", "mixing.rate", "conditions.verdict",
              "fdr.fdr1.residual", "fdr.fdr1.mcse", "fdr.fdr2_theta.residual", "fdr.fdr2_theta.mcse",
              "fdr.fdr2_omega.residual", "fdr.fdr2_omega.mcse", "run.diverged_chains", "run.wall_seconds",
              "exact.trace_cov", "exact.z", "folder"):
        assert c in cols, c
    assert [(r["training.lr"], r["training.batch_size"], r["seed"]) for r in rows] == [
        ("0.05", "2", "11"), ("0.05", "4", "12"), ("0.1", "2", "13"), ("0.1", "4", "14")]  # a seed per row
    for r in rows:
        assert (out / r["folder"]).is_dir()
        if r["folder"] == FAILING:
            assert r["status"] == "failed: RuntimeError: boom, on purpose"
            assert r["stationary.trace_cov"] == ""
            assert "boom" in (out / FAILING / "failed.txt").read_text()
            continue
        assert r["status"] == "ok"
        summ = json.loads((out / r["folder"] / "summary.json").read_text())
        assert float(r["stationary.trace_cov"]) == summ["stationary"]["trace_cov"]
        assert float(r["fdr.fdr1.residual"]) == summ["fdr"]["fdr1"]["residual"]
        assert summ["run"]["lr"] == float(r["training.lr"]) and summ["run"]["batch_size"] == int(r["training.batch_size"])
        assert summ["run"]["seed"] == int(r["seed"]) and summ["run"]["chains"] == 4
        assert r["conditions.verdict"] == summ["conditions"]["verdict"]
        assert float(r["exact.trace_cov"]) > 0
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["set"] == [["training.lr", [0.05, 0.1]], ["training.batch_size", [2, 4]]] and meta["seeds"] == 1
    assert len(meta["points"]) == 4
    page = (out / "sweep.html").read_text()
    assert 'id="headline"' in page and 'id="collapse"' in page and "data:image/png;base64," in page


@pytest.fixture
def quick_reports(monkeypatch):
    """Stub reports (the grid fixture checks the real sweep.html); counts the per-point ones."""
    from invariant import report
    from invariant.report import sweep as sweep_report

    built = []

    def point_report(out, result=None):
        built.append(out.name)
        (out / "report.html").write_text("stub")

    monkeypatch.setattr(report, "build", point_report)
    monkeypatch.setattr(sweep_report, "build", lambda d: (d / "sweep.html").write_text("stub") or d / "sweep.html")
    return built


def test_rerun_retries_the_failed_point_and_skips_the_finished(grid, capsys, quick_reports):
    cfg, out, _, rows = grid
    done = {r["folder"]: (out / r["folder"] / "summary.json").stat().st_mtime_ns for r in rows if r["status"] == "ok"}
    capsys.readouterr()
    # without --no-report: each point that runs writes its report.html, as invariant run does
    assert cli.main(["sweep", str(cfg), *GRID, "--out", str(out), "--workers", "0"]) == 0
    text = capsys.readouterr().out
    assert "4 points: 3 finished before (skipped), 1 run" in text
    # the failed point ran with its report; the finished ones (run with --no-report) got theirs only
    assert sorted(quick_reports) == sorted(r["folder"] for r in rows)
    for folder, mtime in done.items():
        assert (out / folder / "summary.json").stat().st_mtime_ns == mtime
    rows2 = _rows(out)
    assert [r["status"] for r in rows2] == ["ok"] * 4
    assert [r["stationary.trace_cov"] for r in rows2][:3] == [r["stationary.trace_cov"] for r in rows][:3]
    # and once everything is finished, a re-run runs nothing
    assert _sweep(cfg, out) == 0
    assert "4 points: 4 finished before (skipped), 0 run" in capsys.readouterr().out
    assert _rows(out) == rows2


def test_a_half_written_summary_is_resumed_from_the_checkpoint(grid, capsys, quick_reports):
    cfg, out, _, _ = grid
    before = _rows(out)
    folder = before[1]["folder"]
    path = out / folder / "summary.json"
    path.write_text(path.read_text()[:200])  # as if killed while writing it
    capsys.readouterr()
    assert _sweep(cfg, out) == 0
    assert "3 finished before (skipped), 1 run (1 resumed)" in capsys.readouterr().out
    after = _rows(out)
    assert after[1]["stationary.trace_cov"] == before[1]["stationary.trace_cov"]  # the same chains, re-analysed


def test_different_arguments_into_the_same_folder_exit_2(grid, capsys):
    cfg, out, _, _ = grid
    capsys.readouterr()
    rc = cli.main(["sweep", str(cfg), "--set", "training.lr=0.05,0.2", "--out", str(out), "--workers", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--out" in err[0] and "different arguments" in err[0]
    assert cli.main(["sweep", str(cfg), *GRID, "--seeds", "2", "--out", str(out), "--workers", "0"]) == 2


@pytest.mark.parametrize("sets,key", [
    (["training.lrr=0.1"], "training.lrr"),
    (["training.lr=0.1,abc"], "training.lr"),
    (["training.lr=0.1,-0.2"], "training.lr"),
    (["training.lr=0.1,,0.2"], "training.lr"),
    (["training.lr=[0.1"], "training.lr"),
    (["training.lr=0.1,0.1"], "training.lr"),
    (["training.batch_size=2,2.5"], "training.batch_size"),
    (["game.lamb=1.0"], "game.lamb"),
    (["trainig.lr=0.1"], "trainig.lr"),
    (["lr=0.1"], "lr"),
    (["training.lr"], "--set"),
    (["training.lr=0.1", "training.lr=0.2"], "training.lr"),
    (["simulation.t_end=4.0,0.5"], "simulation.t_end"),
])
def test_bad_set_exits_2_naming_the_key_before_anything_runs(tmp_path, capsys, sets, key):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    argv = ["sweep", str(cfg), "--out", str(tmp_path / "out"), "--workers", "0"]
    for s in sets:
        argv += ["--set", s]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0] and "--set" in err[0], err
    assert not (tmp_path / "out").exists()


def test_values_are_toml_scalars():
    assert sweep.parse_sets(["training.lr=0.05,1e-2,1", "training.scheme=alt-d,\"sml\"", "mixing.relaxation=true"]) == [
        ("training.lr", [0.05, 0.01, 1]), ("training.scheme", ["alt-d", "sml"]), ("mixing.relaxation", [True])]
    assert isinstance(sweep.parse_sets(["training.batch_size=4"])[0][1][0], int)


def test_seeds_are_one_per_row_or_common():
    base = config.read_table(None)  # the embedded example, simulation.seed = 12345
    sets = [("training.lr", [0.05, 0.1]), ("training.batch_size", [1, 4])]
    pts = sweep.build_points(base, sets, seeds=2)
    assert [p.seed for p in pts] == list(range(12345, 12353))
    assert pts[3].folder == "training.lr=0.05,training.batch_size=4,seed=12348"
    assert [p.seed for p in sweep.build_points(base, sets, seeds=2, common_seeds=True)] == [12345, 12346] * 4
    assert all(p.exact_trace_cov > 0 for p in pts)


def test_without_dask_the_sweep_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    assert cli.main(["sweep", str(cfg), "--set", "training.lr=0.05", "--out", str(tmp_path / "o"), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'invariant[sweep]'" in err and "--workers 0" in err
    assert not (tmp_path / "o").exists()


def test_local_cluster_runs_the_points_in_worker_processes(grid, tmp_path, capsys, quick_reports):
    pytest.importorskip("distributed")
    cfg, out0, _, _ = grid
    out = tmp_path / "dask"
    rc = cli.main(["sweep", str(cfg), "--set", "training.lr=0.05", "--set", "training.batch_size=2,4",
                   "--out", str(out), "--workers", "2", "--no-progress", "--no-report"])
    assert rc == 0, capsys.readouterr()
    rows = _rows(out)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    # the first two rows of the in-process grid: the same seeds, the same chains
    ref = {(r["training.lr"], r["training.batch_size"], r["seed"]): r["stationary.trace_cov"] for r in _rows(out0)}
    for r in rows:
        assert r["stationary.trace_cov"] == ref[(r["training.lr"], r["training.batch_size"], r["seed"])]
        assert json.loads((out / r["folder"] / "summary.json").read_text())["run"]["chains"] == 4
        assert not (out / r["folder"] / "report.html").exists()  # --no-report
    assert os.path.exists(out / "sweep.html")


def test_report_of_a_sweep_folder_is_the_sweep_report(grid, tmp_path):
    _, out, _, _ = grid
    page = tmp_path / "grid.html"
    assert cli.main(["report", str(out), "--out", str(page)]) == 0
    html = page.read_text()
    assert "sweep.csv" in html or "lr/N" in html or "training.lr" in html
    assert "http://" not in html and "https://" not in html
