"""Data sets with known modes (invariant.datasets, docs/theory.md §7): shapes, modes, the
points' distances to their modes, CSV loading and the errors naming ``game.data``."""
import numpy as np
import pytest
from scipy.stats import chi2

from invariant import datasets, modes
from invariant.errors import ConfigError
from invariant.games import mlp_setup

Z_MAX = 4.0


@pytest.mark.parametrize("name, K, std, n", [("ring8", 8, 0.02, 512), ("grid25", 25, 0.05, 1000)])
def test_generated_sets(name, K, std, n):
    d = datasets.load(name)
    assert d.samples.shape == (n, 2) and d.modes.shape == (K, 2) and d.n_modes == K and d.dim == 2
    assert d.mode_std == std and np.isclose(d.weights.sum(), 1) and np.allclose(d.weights, 1 / K)
    k, dist = modes.assign(d.samples, d.modes)
    assert np.all(np.bincount(k, minlength=K) == n // K)  # exactly balanced
    # |x − m|²/σ² ~ χ²(2): its mean 2 within z < 4 of its standard error √(4/n)
    assert abs(np.mean((dist / std) ** 2) - 2) / np.sqrt(4 / n) < Z_MAX
    assert np.array_equal(d.samples, datasets.load(name).samples)  # deterministic
    assert not np.array_equal(d.samples, datasets.load(name, seed=1).samples)
    assert datasets.load(name, n=K + 3).samples.shape == (K + 3, 2)


def test_mode_positions():
    ring = datasets.load("ring8").modes
    assert np.allclose(np.linalg.norm(ring, axis=1), 2) and np.allclose(ring[0], [2, 0])
    grid = datasets.load("grid25").modes
    assert sorted(set(grid.ravel())) == [-4, -2, 0, 2, 4] and len({tuple(m) for m in grid}) == 25


def test_high_quality_fraction_of_the_data_itself():
    """The data's own points: the 3σ fraction is the χ²(2) probability 1 − e^{−4.5}."""
    d = datasets.load("grid25", n=25 * 400)
    s = modes.summary(d.samples[None, :, None, :], d, np.arange(len(d.samples)), n_boot=0)
    p = chi2(2).cdf(9)
    assert abs(s["high_quality_fraction"] - p) / np.sqrt(p * (1 - p) / len(d.samples)) < Z_MAX
    assert s["modes_covered"] == 25


def test_mixture1d_is_the_mlp_games_data():
    d = datasets.load("mixture1d")
    assert np.array_equal(d.samples, mlp_setup.load_data(mlp_setup.DEFAULT_DATA))
    assert d.samples.shape == (256, 1) and d.modes.ravel().tolist() == [-2, 2] and d.mode_std == 0.25


def test_csv_file(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("# x,y\n0,1\n1,0.5\n# a comment\n2,2\n")
    d = datasets.load(str(f))
    assert d.samples.shape == (3, 2) and d.modes is None and d.n_modes == 0 and d.name == str(f)
    g = tmp_path / "one.csv"
    g.write_text("1.5\n2.5\n")
    assert datasets.load(g).samples.shape == (2, 1)


@pytest.mark.parametrize("text, match", [("0,1\n", "at least 2"), ("0,1\nnan,2\n", "NaN"),
                                         ("0,1\nx,2\n", "cannot read"), ("0,1\n1,2,3\n", "cannot read")])
def test_bad_files_name_the_field(tmp_path, text, match):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match) as e:
        datasets.load(str(f))
    assert e.value.field == "game.data"


def test_unknown_name_and_misplaced_options():
    with pytest.raises(ConfigError, match="ring8, grid25, mixture1d") as e:
        datasets.load("ring9")
    assert e.value.field == "game.data"
    with pytest.raises(ConfigError, match="generated sets"):
        datasets.load("mixture1d", n=10)
    with pytest.raises(ConfigError, match="n ≥ 2"):
        datasets.load("ring8", n=1)
