"""Hardening (issue 20): every bad input, damaged run folder and unusable output ends with
exit status 2 and one line naming the field or the file, no traceback, and nothing of the
user's lost; `--force` removes only what a run writes."""
import errno
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from invariant import cli, config, fdr, fokker_planck, runner, storage
from test_config import GOOD as BASE

GOOD = BASE + "\n[mixing]\nbootstrap = 20\n"  # a tiny run of a 2×2 bilinear game
ROOT = Path(__file__).resolve().parents[1]


def _one_line(capsys, *names):
    """The command's stderr is one line, names every one of ``names``, and holds no traceback."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err
    assert all(n in lines[0] for n in names), lines
    return lines[0]


def _config(tmp_path, old=None, new=None) -> Path:
    path = tmp_path / "c.toml"
    assert old is None or old in GOOD
    path.write_text(GOOD if old is None else GOOD.replace(old, new, 1))
    return path


def _files(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run (checkpoint.npz kept): copy it before damaging it."""
    base = tmp_path_factory.mktemp("finished")
    # statistics every 5 steps (not the default 50): config.json stays valid when a test
    # edits dt or dynamics, so that the refusal names the edited key
    cfg = _config(base, "t_burn = 0.5", "t_burn = 0.5\nstat_every = 5")
    assert cli.main(["run", str(cfg), "--out", str(base / "run"), "--no-progress"]) == 0
    return cfg, base / "run"


@pytest.fixture
def run_copy(finished, tmp_path):
    cfg, run = finished
    shutil.copytree(run, tmp_path / "run")
    return cfg, tmp_path / "run"


# ----------------------------------------------------------------------------- bad configs

BAD = [
    ("chains = 4", "chains = 1000000000000", "simulation.chains"),  # a 29 TiB allocation: refused with the figure
    ("chains = 4", "chains = 4\ndt = 1e-300", "simulation.t_end"),  # 2e300 steps
    ("t_end = 2.0", "t_end = 1e300", "simulation.t_end"),
    ("chains = 4", "chains = 4\nstat_every = 1000", "simulation.stat_every"),  # more than the steps after burn-in
    ("chains = 4", "chains = 4\nobs_every = 1000", "simulation.obs_every"),
    ("chains = 4", "chains = 4\norder = 2.0", "simulation.order"),
    ("chains = 4", "chains = 4\nkeep_draws = 100000000", "simulation.keep_draws"),
    ('name = "bilinear"', 'name = "os:system"', "game.name"),  # would call os.system(table)
    ('name = "bilinear"', 'name = "subprocess:Popen"', "game.name"),
    ('name = "bilinear"', 'name = "antigravity:x"', "game.name"),  # importing it opens a browser
    ("[mixing]", '[conditions]\nlyapunov = "os:system"\n[mixing]', "conditions.lyapunov"),  # would call os.system(x)
    ("[mixing]", '[conditions]\nlyapunov = "numpy:ndarray"\n[mixing]', "conditions.lyapunov"),  # a class
]


@pytest.mark.parametrize("old,new,field", BAD)
def test_bad_config_exits_2_in_one_line_writing_nothing(tmp_path, capsys, old, new, field):
    out = tmp_path / "out"
    assert cli.main(["run", str(_config(tmp_path, old, new)), "--out", str(out)]) == 2
    _one_line(capsys, field)
    assert not out.exists()


def test_a_config_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xff\xfe" + GOOD.encode("utf-16-le"))
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    _one_line(capsys, str(path), "UTF-8")


def test_memory_of_the_kept_draws_is_estimated(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner, "_physical_memory", lambda: 2**20)
    path = _config(tmp_path, "chains = 4", "chains = 100000")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    _one_line(capsys, "simulation.chains")  # 200 steps: the chains' state dominates
    path = _config(tmp_path, "t_end = 2.0", "t_end = 200.0\nkeep_draws = 5000000")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "MiB" in _one_line(capsys, "simulation.keep_draws")
    assert not (tmp_path / "out").exists()


def test_a_user_factory_must_be_a_function_of_a_module(tmp_path, capsys, monkeypatch):
    marker = tmp_path / "called"
    (tmp_path / "evil.py").write_text(
        "from os import system as builtin\n"
        f"class Klass:\n    def __init__(self, table):\n        open({str(marker)!r}, 'w').close()\n"
        "def two(table, extra):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("evil:builtin", "evil:Klass", "evil:two"):
        with pytest.raises(config.ConfigError, match="game.name"):
            config.from_dict({"game": {"name": name}})
    assert not marker.exists()


def _default(**simulation):
    """The embedded example with ``simulation`` keys changed."""
    table = config.read_table(None)
    table["simulation"].update(simulation)
    return config.from_dict(table)


def test_numerical_warnings_of_the_analyses_stay_off_stderr(recwarn):
    with runner.quiet_numerics():
        np.log(np.array([-1.0, 0.0]))
        np.linalg.eigvalsh(np.full((2, 2), np.nan))
        warnings.warn("a mean of an empty slice", RuntimeWarning, stacklevel=1)
    assert not recwarn.list


def test_stat_every_default_leaves_two_samples():
    cfg = _default(t_end=0.06, t_burn=0.0, dt=0.01)
    assert cfg.stat_every == 3  # 0.5 / dt = 50 would leave no sample in 6 steps


def test_obs_every_default_budgets_the_observables():
    # SGA: an observables step's three exact evaluations of game.exact_cost against a training
    # step's batch_size·(n_critic + 1) per-sample gradients, at OBS_SHARE of the run
    path = ROOT / "data" / "dirac_r1_sga.toml"
    cfg = config.load(path)
    assert cfg.game.exact_cost == 32.0 and cfg.scheme.batch_size == 4  # 64 quadrature points
    assert cfg.obs_every == round(3 * 32.0 / (4 * 2) / config.OBS_SHARE) == 240
    assert config.load(path, {"simulation.stat_every": 3}).obs_every == 3  # set with the moments'
    assert config.load(path, {"simulation.obs_every": 7}).obs_every == 7
    bilinear = config.load(ROOT / "data" / "bilinear_sml_sga.toml")  # a batch's mean drawn at once
    assert not bilinear.game.sampled_batches and bilinear.obs_every == round(3 * 1.0 / 2 / config.OBS_SHARE) == 30
    sde = config.load(ROOT / "data" / "dirac_r1.toml")
    assert sde.obs_every == sde.stat_every  # an SDE step evaluates the exact drift already


def test_cost_warnings_name_chunks_and_keep_draws():
    cfg = _default(t_end=2000.0, t_burn=100.0, dt=0.01, chunks=1000000, keep_draws=200000)
    warns = runner.cost_warnings(cfg)
    assert len(warns) == 2 and "simulation.chunks" in warns[0] and "simulation.keep_draws" in warns[1]
    assert runner.cost_warnings(_default()) == []


# ----------------------------------------------------------------------------- --force

def test_force_refuses_a_folder_without_a_run(tmp_path, capsys):
    p = tmp_path / "p"
    p.mkdir()
    (p / "thesis.tex").write_text("x")
    (p / "config.json").write_text("{}")
    before = _files(p)
    assert cli.main(["run", str(_config(tmp_path)), "--out", str(p), "--force"]) == 2
    _one_line(capsys, "--force", "holds no run")
    assert _files(p) == before
    assert cli.main(["run", str(_config(tmp_path)), "--out", str(p)]) == 2  # and without --force
    _one_line(capsys, "--out", "not a run's")
    assert _files(p) == before


def test_force_refuses_the_current_folder(run_copy, capsys, monkeypatch):
    cfg, run = run_copy
    (run / "thesis.tex").write_text("x")
    before = _files(run)
    monkeypatch.chdir(run)
    assert cli.main(["run", str(cfg), "--out", ".", "--force"]) == 2
    _one_line(capsys, "--force", "current folder")
    assert _files(run) == before


def test_force_removes_only_what_a_run_writes(run_copy, capsys):
    cfg, run = run_copy
    (run / "thesis.tex").write_text("x")
    (run / "relaxation").mkdir()
    (run / "relaxation" / "old").write_text("old")
    (run / "checkpoint.999.tmp.npz").write_text("partial")
    summary = (run / "summary.json").read_text()
    assert cli.main(["run", str(cfg), "--out", str(run), "--force", "--no-progress"]) == 0
    assert (run / "thesis.tex").read_text() == "x"
    assert not (run / "relaxation").exists() and not (run / "checkpoint.999.tmp.npz").exists()
    assert json.loads((run / "summary.json").read_text())["stationary"] == json.loads(summary)["stationary"]


# ----------------------------------------------------------------------------- damaged run folders

def _truncate(run):
    p = run / "checkpoint.npz"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _flip(run):
    p = run / "checkpoint.npz"
    b = bytearray(p.read_bytes())
    b[len(b) // 3] ^= 0x10
    p.write_bytes(bytes(b))


def _drop_array(run):
    with np.load(run / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "acc_s1"}
    np.savez(run / "checkpoint.npz", **arrays)


DAMAGE = [
    ("config.json", lambda run: (run / "config.json").write_text('{"game": ')),
    ("config.json", lambda run: (run / "config.json").write_text("[1, 2]")),
    ("config.json", lambda run: (run / "config.json").write_bytes(b"\xff\xfe{}")),
    ("checkpoint.npz", _truncate),
    ("checkpoint.npz", lambda run: (run / "checkpoint.npz").write_bytes(b"")),
    ("checkpoint.npz", _flip),
    ("checkpoint.npz", _drop_array),
    ("hook.json", lambda run: (run / "hook.json").write_text('{"names": ')),
    ("hook.json", lambda run: _edit_json(run / "hook.json", lambda h: h.update(names=h["names"][:-1]))),
    ("hook.json", lambda run: _edit_json(run / "hook.json", lambda h: h.update(source="def observe_extra(): pass"))),
]


def _edit_json(path: Path, edit):
    table = json.loads(path.read_text())
    edit(table)
    path.write_text(json.dumps(table))


@pytest.mark.parametrize("name,damage", DAMAGE)
def test_a_damaged_run_folder_is_named_in_one_line(run_copy, capsys, name, damage):
    _, run = run_copy
    damage(run)
    before = _files(run)
    assert cli.main(["run", "--resume", str(run)]) == 2
    _one_line(capsys, name)
    assert _files(run) == before


def _marker_code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()\n"


@pytest.mark.parametrize("checkpoint", [True, False], ids=["finished", "killed before its first checkpoint"])
def test_a_tampered_hook_json_is_refused_and_never_run(run_copy, capsys, checkpoint):
    # hook.json records the hook's code; a resumed run rebuilds the hook from config.json and
    # only compares the two: code put in hook.json never runs
    _, run = run_copy
    marker = run.parent / "ran"
    if not checkpoint:
        (run / "checkpoint.npz").unlink()
    _edit_json(run / "hook.json", lambda h: h.update(sources=[_marker_code(marker) + src for src in h["sources"]]))
    before = _files(run)
    assert cli.main(["run", "--resume", str(run), "--no-progress"]) == 2
    _one_line(capsys, "hook.json")
    assert not marker.exists()
    assert _files(run) == before


def test_a_missing_hook_json_is_rebuilt_from_the_config(run_copy):
    _, run = run_copy
    recorded = (run / "hook.json").read_text()
    (run / "hook.json").unlink()
    assert cli.main(["run", "--resume", str(run), "--no-progress"]) == 0
    assert (run / "hook.json").read_text() == recorded


def _three_by_two(table):
    table["game"].update(C=[[1.0, 0.4], [-0.3, 0.8], [0.2, 0.1]], Sigma_theta=np.eye(3).tolist())
    table["simulation"]["x0"] = [0.0] * 5


EDITS = {  # an edit of config.json and the keys a refusal must name
    "chains": (lambda t: t["simulation"].update(chains=2), ["simulation.chains"]),
    "dynamics": (lambda t: t["simulation"].update(dynamics="sga"), ["simulation.dynamics"]),
    "3x2 game": (_three_by_two, ["game.C", "game.Sigma_theta", "simulation.x0"]),
    "lr": (lambda t: t["training"].update(lr=0.1), ["training.lr"]),
    "seed": (lambda t: t["simulation"].update(seed=1), ["simulation.seed"]),
    "dt": (lambda t: t["simulation"].update(dt=0.02), ["simulation.dt"]),
    # the kept draws and the per-chunk arrays are sized by the horizon: no extension either
    "t_end": (lambda t: t["simulation"].update(t_end=4.0), ["simulation.t_end"]),
}


@pytest.fixture(scope="module")
def killed(finished, tmp_path_factory):
    """The tiny run stopped after its second checkpoint (of 100)."""
    from invariant import engine
    from invariant.engine import run as run_mod

    cfg = config.load(finished[0])
    out = tmp_path_factory.mktemp("killed") / "run"
    write, calls = run_mod._write_checkpoint, []

    def killed_after_two(*args):
        write(*args)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    run_mod._write_checkpoint = killed_after_two
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.simulate(cfg, out, hook=fdr.hook(cfg))
    finally:
        run_mod._write_checkpoint = write
    return finished[0], out


@pytest.fixture(params=["finished", "killed"])
def stopped_copy(request, tmp_path):
    """A copy of the finished run and of the killed one."""
    _, run = request.getfixturevalue(request.param)
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run"


@pytest.mark.parametrize("what", list(EDITS))
def test_an_edited_config_json_is_refused_naming_the_keys(stopped_copy, capsys, what):
    run = stopped_copy
    edit, keys = EDITS[what]
    _edit_json(run / "config.json", edit)
    before = _files(run)
    assert cli.main(["run", "--resume", str(run), "--no-progress"]) == 2
    _one_line(capsys, "config.json", *keys)
    assert _files(run) == before


def test_the_untouched_stopped_run_resumes(stopped_copy, finished):
    assert cli.main(["run", "--resume", str(stopped_copy), "--no-progress"]) == 0
    same = json.loads((finished[1] / "summary.json").read_text())["stationary"]
    assert json.loads((stopped_copy / "summary.json").read_text())["stationary"] == same


def test_arrays_that_do_not_fit_the_config_are_refused(run_copy, capsys):
    # a checkpoint of an earlier version records no config: the arrays' shapes are checked
    # against the config before any kernel sees them
    _, run = run_copy
    with np.load(run / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["config"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(run / "checkpoint.npz", **arrays)
    _edit_json(run / "config.json", lambda t: t["simulation"].update(chains=2))
    before = _files(run)
    assert cli.main(["run", "--resume", str(run), "--no-progress"]) == 2
    _one_line(capsys, "checkpoint.npz", "X", "(2, 4)")
    assert _files(run) == before


@pytest.mark.parametrize("extra", [["--chains", "0"], ["--seed", "0"], ["--force"], ["--out", "elsewhere"]])
def test_resume_takes_no_other_option(run_copy, capsys, extra):
    _, run = run_copy
    before = _files(run)
    assert cli.main(["run", "--resume", str(run), *extra]) == 2
    _one_line(capsys, "--resume", extra[0])
    assert _files(run) == before


# ----------------------------------------------------------------------------- unusable output

def _out_is_rejected_before_the_conditions(tmp_path, capsys, monkeypatch, out, *names):
    from invariant import summary

    monkeypatch.setattr(summary, "conditions_section", lambda cfg: pytest.fail("conditions checked first"))
    assert cli.main(["run", str(_config(tmp_path)), "--out", str(out)]) == 2
    _one_line(capsys, "--out", *names)


def test_out_is_a_file_or_under_one(tmp_path, capsys, monkeypatch):
    (tmp_path / "f").write_text("keep")
    _out_is_rejected_before_the_conditions(tmp_path, capsys, monkeypatch, tmp_path / "f", "is a file")
    _out_is_rejected_before_the_conditions(tmp_path, capsys, monkeypatch, tmp_path / "f" / "run", "under")
    assert (tmp_path / "f").read_text() == "keep"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_out_under_proc(tmp_path, capsys, monkeypatch):
    _out_is_rejected_before_the_conditions(tmp_path, capsys, monkeypatch, "/proc/invariant-test/run", "cannot be written")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_read_only(tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _out_is_rejected_before_the_conditions(tmp_path, capsys, monkeypatch, ro / "run", "cannot be written")
    finally:
        ro.chmod(0o755)


def test_out_not_writable(tmp_path, capsys, monkeypatch):
    """As ``test_out_read_only``, where the tests run as root: the probe write is refused."""
    real = Path.write_bytes

    def refuse(self, data):
        if ".tmp" in self.name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", refuse)
    _out_is_rejected_before_the_conditions(tmp_path, capsys, monkeypatch, tmp_path / "ro" / "run", "Permission denied")
    assert not (tmp_path / "ro").exists()  # the folders it made are taken back


def _enospc(path):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def test_a_full_disk_at_the_end_keeps_the_last_checkpoint(run_copy, capsys, monkeypatch):
    cfg, run = run_copy
    out = run.parent / "full"

    class Half:
        def to_netcdf(self, path):
            Path(path).write_bytes(b"CDF partial")
            _enospc(path)

    monkeypatch.setattr(storage, "to_inference_data", lambda result: Half())
    assert cli.main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 2
    _one_line(capsys, str(out), "no space left", "--resume")
    assert not list(out.glob("*.tmp*")) and not (out / "chains.nc").exists()
    monkeypatch.undo()
    assert cli.main(["run", "--resume", str(out), "--no-progress"]) == 0
    same = json.loads((run / "summary.json").read_text())["stationary"]
    assert json.loads((out / "summary.json").read_text())["stationary"] == same


def test_a_full_disk_mid_run_keeps_the_last_good_checkpoint(run_copy, capsys, monkeypatch):
    cfg, run = run_copy
    out = run.parent / "full"
    real, calls = np.savez, []

    def savez(file, *args, **kw):
        calls.append(file)
        if len(calls) < 3:
            return real(file, *args, **kw)
        Path(file).write_bytes(b"PK partial")
        _enospc(file)

    monkeypatch.setattr(np, "savez", savez)
    assert cli.main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 2
    _one_line(capsys, "no space left")
    assert not list(out.glob("*.tmp*"))
    with np.load(out / "checkpoint.npz") as z:  # the second chunk's
        assert json.loads(str(z["meta"]))["steps_done"] == 4
    monkeypatch.undo()
    assert cli.main(["run", "--resume", str(out), "--no-progress"]) == 0
    same = json.loads((run / "summary.json").read_text())["stationary"]
    assert json.loads((out / "summary.json").read_text())["stationary"] == same


def test_a_closed_stdout_stops_the_output_not_the_run(finished, tmp_path):
    cfg, _ = finished
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run(f"{sys.executable} -m invariant run {cfg} --out {out} --no-progress | head -1",
                         shell=True, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 1
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr
    assert (out / "summary.json").exists() and (out / "report.html").exists()


# ----------------------------------------------------------------------------- results and messages

def test_every_chain_diverged_marks_the_fdrs_not_meaningful(tmp_path, capsys):
    path = _config(tmp_path, "chains = 4", "chains = 4\nx0 = [50.0, 50.0, 50.0, 50.0]\nescape_radius = 10.0")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    cap = capsys.readouterr()
    assert "FDRs: not meaningful (every chain diverged" in cap.out and "fdr1" not in cap.out
    assert "Warning" not in cap.err and "Traceback" not in cap.err, cap.err
    summ = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summ["fdr"]) == {"skipped"} and "every chain diverged" in summ["fdr"]["skipped"]


def test_the_fokker_planck_gap_is_reproducible():
    # an OU process with a rotation: complex eigenvalues, as the games' have
    Q, _, _ = fokker_planck.operator(lambda X: X @ np.array([[-1.0, 0.7], [-0.7, -1.0]]).T,
                                     lambda X: np.full((len(X), 2), 0.5), ((-4, 4), (-4, 4)), (24, 24))
    a = fokker_planck.spectral_gap(Q, 8)
    assert all(np.array_equal(a[2], fokker_planck.spectral_gap(Q, 8)[2]) for _ in range(3))


def test_version_and_the_weak_order_defaults(capsys):
    from invariant import __version__, weak

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"invariant {__version__}"
    with pytest.raises(SystemExit):
        cli.main(["weak-order", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ",".join(f"{v:g}" for v in weak.DEFAULT_LRS) in text
    assert f"horizon or {weak.WeakOptions().horizon:g})" in text


def test_the_first_compile_is_announced(finished, tmp_path, capsys, monkeypatch):
    cfg = config.load(_config(tmp_path))
    assert runner.kernels_cached(cfg, fdr.hook(cfg))  # compiled by the module's run
    monkeypatch.setattr(runner, "kernels_cached", lambda cfg, hook: False)
    assert cli.main(["run", str(_config(tmp_path)), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "compiling kernels for bilinear (first run only, about a minute)" in capsys.readouterr().err


def test_an_unreliable_rate_says_so_on_its_line(capsys):
    mix = {"rate": 0.21, "rate_interval": [0.1, 0.3], "method": "autocorrelation", "reliable": False,
           "disagreement": False, "methods": {"autocorrelation": {"rate": 0.21, "note": "draws 41 apart"}}}
    cli._print_longrun({"mixing": mix, "fokker_planck": None, "strategies": None})
    line = capsys.readouterr().out.strip()
    assert "κ = 0.21 [0.1, 0.3]" in line and line.endswith("NOT RELIABLE (draws 41 apart)") and "\n" not in line
