"""Bad input: exit status 2 and one line naming the field, before any simulation."""
import pytest

from invariant import cli

GOOD = """
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
t_end = 2.0
t_burn = 0.5
"""

BAD = [
    ("lam = 0.3", "lam = 0.3\nlamb = 1.0", "game.lamb"),
    ("chains = 4", "chains = 4\nchain = 3", "simulation.chain"),
    ("[training]", "[trainning]\nx = 1\n[training]", "trainning"),
    ("C = [[1.0, 0.4], [-0.3, 0.8]]", "C = [[1.0, 0.4], [-0.3]]", "game.C"),
    ("Sigma_theta = [[1.0, 0.0], [0.0, 0.5]]", "Sigma_theta = [[1.0, 0.2], [0.0, 0.5]]", "game.Sigma_theta"),
    ("Sigma_theta = [[1.0, 0.0], [0.0, 0.5]]", "Sigma_theta = [[1.0, 2.0], [2.0, 0.5]]", "game.Sigma_theta"),
    ("Sigma_omega = [[0.8, 0.1], [0.1, 0.6]]", "Sigma_omega = [[0.8, 0.1, 0.0], [0.1, 0.6, 0.0], [0.0, 0.0, 1.0]]", "game.Sigma_omega"),
    ("lr = 0.05", "lr = 0.0", "training.lr"),
    ("lr = 0.05", "lr = -0.1", "training.lr"),
    ("batch_size = 4", "batch_size = 0", "training.batch_size"),
    ("batch_size = 4", "batch_size = 2.5", "training.batch_size"),
    ('scheme = "alt-d"', 'scheme = "adam"', "training.scheme"),
    ("t_burn = 0.5", "t_burn = 2.0", "simulation.t_burn"),
    ("chains = 4", "chains = 0", "simulation.chains"),
    ("chains = 4", "chains = 4\ndynamics = \"ode\"", "simulation.dynamics"),
    ("chains = 4", "chains = 4\norder = 3", "simulation.order"),
    ("chains = 4", "chains = 4\nx0 = [0.0, 1.0]", "simulation.x0"),
    ('name = "bilinear"', 'name = "nosuchgame"', "game.name"),
    ('name = "bilinear"', 'name = "nosuch.module:factory"', "game.name"),
    ("gam = 0.5", "gam = 0.5\nextra = { k = 1 }", "game.extra"),
]


@pytest.mark.parametrize("old,new,field", BAD)
def test_bad_input_exits_2_naming_the_field(tmp_path, capsys, old, new, field):
    path = tmp_path / "c.toml"
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1))
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0], err
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


def test_good_config_runs(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert (tmp_path / "out" / "summary.json").exists()


def test_not_toml_and_missing_file(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[game\n")
    assert cli.main(["run", str(path)]) == 2
    assert cli.main(["run", str(tmp_path / "missing.toml")]) == 2
    assert cli.main(["run", "--resume", str(tmp_path)]) == 2
