"""Same config, same seed: the same summary.json, bit for bit, apart from the clock."""
import json
import re

import pytest

from invariant import cli
from test_config import GOOD
from test_report import DIRAC

CLOCK = re.compile(r"seconds|per_second")  # wall-clock measurements, the only fields allowed to differ


def _without_clock(node):
    if isinstance(node, dict):
        return {k: _without_clock(v) for k, v in node.items() if not CLOCK.search(k)}
    if isinstance(node, list):
        return [_without_clock(v) for v in node]
    return node


# a 4-D bilinear game, and the 2-D Dirac-GAN whose summary holds the Fokker–Planck gap
# (an eigensolver with a random start vector differed at 1e-11 between runs)
@pytest.mark.parametrize("text", [GOOD + "\n[mixing]\nbootstrap = 20\n", DIRAC], ids=["bilinear", "dirac"])
def test_two_runs_of_one_config_write_the_same_summary(tmp_path, text):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    texts = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        assert cli.main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 0
        texts.append(_without_clock(json.loads((out / "summary.json").read_text())))
    assert json.dumps(texts[0], sort_keys=True) == json.dumps(texts[1], sort_keys=True)
