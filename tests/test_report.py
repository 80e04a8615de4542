"""The HTML diagnostics report (invariant.report): self-contained, every section present,
graceful when analyses are missing, and `invariant report` on a folder without a run."""
import json
import re
import shutil
from pathlib import Path

import pytest

from invariant import cli, report

DATA = Path(__file__).resolve().parents[1] / "data"

TITLES = [m.TITLE for m in report.SECTIONS]

# a tiny 2-D Dirac-GAN run: the Fokker–Planck reference appears in section 4
DIRAC = """
[game]
name = "dirac"
loss = "vanilla"
regularizer = "r1"
gamma = 0.6
s = 1.0
s_z = 1.0

[training]
scheme = "alt-d"
lr = 0.05
batch_size = 4

[simulation]
dynamics = "sde"
chains = 4
t_end = 60.0
t_burn = 10.0
dt = 0.02
seed = 1

[mixing]
bootstrap = 20
fp_grid = 32
"""


def _run(tmp_path_factory, name, args):
    out = tmp_path_factory.mktemp(name) / "run"
    assert cli.main(["run", *args, "--out", str(out), "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def bilinear_run(tmp_path_factory):
    """The embedded default example with few chains, a short horizon and few bootstrap
    replicas (`invariant run` writes the report)."""
    import invariant

    text = (Path(invariant.__file__).parent / "default.toml").read_text()
    text = text.replace("t_burn = 50.0", "t_burn = 10.0") + "\n[mixing]\nbootstrap = 20\n"
    cfg = tmp_path_factory.mktemp("cfg") / "default.toml"
    cfg.write_text(text)
    return _run(tmp_path_factory, "bilinear", [str(cfg), "--chains", "4", "--t-end", "60", "--seed", "3"])


@pytest.fixture(scope="module")
def dirac_run(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("cfg") / "dirac.toml"
    cfg.write_text(DIRAC)
    return _run(tmp_path_factory, "dirac", [str(cfg)])


def _self_contained(text: str) -> None:
    # nothing to fetch: no external src/href, every image a data: URI, no script
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    imgs = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", text)
    assert imgs and all(s.startswith("data:image/png;base64,") for s in imgs)


def test_run_writes_a_self_contained_report(bilinear_run, capsys):
    path = bilinear_run / "report.html"
    assert path.exists()
    text = path.read_text(encoding="utf-8")
    _self_contained(text)
    for title in TITLES:
        assert f">{title}</h2>" in text.replace("&amp;", "&")
    assert "could not be drawn" not in text
    assert "Settled?" in text and "Unique invariant measure?" in text and "Mixing rate κ" in text
    # traces, ACF, marginals, joint density, running FDRs and conditional densities at least
    assert len(re.findall(r"<img ", text)) >= 6


def test_dirac_report_shows_the_fokker_planck_reference(dirac_run):
    summary = json.loads((dirac_run / "summary.json").read_text())
    assert "gap" in summary["stationary"]["fokker_planck"]
    text = (dirac_run / "report.html").read_text(encoding="utf-8")
    _self_contained(text)
    assert "spectral gap (κ reference)" in text
    assert "Fokker–Planck contours" in text  # the joint-density figure carries them
    assert "could not be drawn" not in text


def test_report_cli_rebuilds_and_writes_elsewhere(bilinear_run, tmp_path, capsys):
    # summary.json alone (no checkpoint: the figures say so) keeps this quick
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(bilinear_run / "summary.json", run)
    out = tmp_path / "r.html"
    assert cli.main(["report", str(run), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "κ = " in text and "kept draws are not available" in text and "could not be drawn" not in text
    assert cli.main(["report", str(run)]) == 0 and (run / "report.html").exists()


def test_missing_sections_render_with_sentences(bilinear_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(bilinear_run, run)
    s = json.loads((run / "summary.json").read_text())
    for key in ("conditions", "mixing", "fdr", "strategies"):
        del s[key]
    del s["stationary"]["mean"]
    (run / "summary.json").write_text(json.dumps(s))
    text = report.render(report.RunContext.open(run))
    for title in TITLES:
        assert f">{title}</h2>" in text
    assert "The conditions were not checked for this run" in text
    assert "The mixing rate was not estimated for this run" in text
    assert "The FDRs were not evaluated for this run" in text
    assert "The mixed strategies were not analysed for this run" in text
    assert "The stationary moments were not computed" in text
    assert "No weak-order study in this run folder" in text
    assert "could not be drawn" not in text
    # without the checkpoint, the figures say the draws are not available
    (run / "checkpoint.npz").unlink()
    text = report.render(report.RunContext.open(run))
    assert "kept draws are not available" in text
    assert "could not be drawn" not in text


def test_weak_order_json_in_the_run_folder_is_shown(bilinear_run, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(bilinear_run / "summary.json", run)
    lrs = [0.1, 0.05, 0.025, 0.0125]
    comp = {"sde": "alt-d-2", "scheme": "alt-d", "expected_order": 2, "lrs": lrs,
            "errors": [4e-3 * (lr / 0.1) ** 2 for lr in lrs], "error_se": None, "below_noise": [False] * 4,
            "order": 2.0, "order_interval": [1.98, 2.02], "exact": True, "note": "",
            "cov": {"order": 2.0}, "cov_relative": {"order": 1.0}}
    weak = {"horizon": 2.0, "method": "exact", "game": "bilinear", "batch_size": 4, "comparisons": [comp],
            "step_halving": {"alt-d": {"largest_converged_lr": 0.05, "tolerance": "0.01 × max|E x|"}}}
    (run / report.WEAK_FILE).write_text(json.dumps(weak))
    from invariant.report import weak as weak_section

    html = weak_section.section(report.RunContext.open(run))
    assert "alt-d-2 vs alt-d" in html and '<img src="data:image/png;base64,' in html
    assert "2.00" in html and "[1.98, 2.02]" in html


def test_report_of_a_folder_without_a_run_exits_2(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "DIR" in err and "no summary.json" in err
    assert cli.main(["report", str(tmp_path / "nowhere")]) == 2


def test_a_failing_report_does_not_lose_the_run(tmp_path, monkeypatch, capsys):
    def boom(*a, **k):
        raise RuntimeError("no figures today")

    monkeypatch.setattr(report, "build", boom)
    cli._write_report(tmp_path, None)
    err = capsys.readouterr().err
    assert "warning: report not written" in err and "invariant report" in err


def _error_paths(node, path="summary"):
    """Dotted paths of every ``"error"`` key below ``node`` (a JSON tree)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "error":
                yield f"{path}.error = {value!r}"
            yield from _error_paths(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _error_paths(value, f"{path}[{i}]")


@pytest.mark.parametrize("run", ["bilinear_run", "dirac_run"])
def test_a_normal_run_records_no_analysis_error(run, request):
    # every analysis catches its own failure so that a run is never lost; a normal run must
    # then show none, or a bug hides behind exit status 0
    summary = json.loads((request.getfixturevalue(run) / "summary.json").read_text())
    assert list(_error_paths(summary)) == []
