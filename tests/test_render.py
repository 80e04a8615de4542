"""The kernel templates render into valid modules for every variant, fast (no numba compile).

docs/kernels.md: the templates in invariant/engine/templates, one generated header each,
one renderer for the CPU and CUDA modules.
"""
import ast
import time

import pytest
from conftest import make_config

from invariant import fdr, schedule, weak
from invariant.engine import Hook, build, cuda_build, render
from invariant.options.moments import MomentOptions

GAMES = {"stack": ("invariant.games.bilinear", 5, 3), "heap": ("invariant.games.bilinear", 64, 32),
         "dirac": ("invariant.games.dirac", 2, 1)}


def _hooks():
    return {"none": Hook(), "sde": fdr.hook(make_config(simulation={"dynamics": "sde"})),
            "sga": fdr.hook(make_config(simulation={"dynamics": "sga"}))}


def _variants():
    hooks = _hooks()
    for g, (mod, d, dth) in GAMES.items():
        yield f"weak-{g}", lambda m=mod: weak.kernels_text(m)
        yield f"schedule-{g}", lambda m=mod: schedule.kernels_text(m)
        if g == "dirac":  # the engine's variants are those of the state's size, not the game's
            continue
        for h, hook in hooks.items():
            for order in (1, 2):
                yield f"cpu-{g}-{h}-order{order}", lambda a=(mod, d, dth, hook, order): build.kernels_text(*a)
            for dtype in ("float64", "float32"):
                yield f"cuda-{g}-{h}-{dtype}", lambda a=(mod, d, dth, hook, dtype): cuda_build.kernels_text(*a)


def test_every_variant_renders_and_compiles_in_under_a_second():
    variants = list(_variants())
    t0 = time.process_time()  # this process's CPU time: the machine may be shared
    texts = {}
    for name, make in variants:
        texts[name] = make()
        compile(texts[name], name, "exec")
    elapsed = time.process_time() - t0
    print(f"{len(texts)} modules rendered and compiled in {elapsed:.2f} s")
    assert elapsed < 1.0
    for name, text in texts.items():
        defs = {n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
        want = {"cpu": {"sde_chunk", "sga_chunk", "_sga_update", "_drift"}, "cuda": {"sde_kernel", "sga_kernel"},
                "weak": {"discrete_paths", "sde_paths"}, "schedule": {"train"}}[name.split("-")[0]]
        assert want <= defs, name
        assert "# <header>" not in text and "templates._stub" not in text, name


def test_the_header_holds_the_constants_and_the_game_bindings():
    text = build.kernels_text("invariant.games.dirac", 2, 1, Hook(), 2)
    head = text[: text.index("\n\n\n")]
    assert "D = 2" in head and "USE_B1 = True" in head and "N_OBS = 6" in head
    assert '_grad = njit(inline="always")(_game.grad.py_func)' in head
    heap = build.kernels_text("invariant.games.bilinear", 64, 32, Hook(), 1)
    assert "\nD = " not in heap and "Q_TRI = 8" in heap and "USE_B1 = False" in heap


def test_the_moments_mode_sizes_the_sums():
    # simulation.moments (invariant.options.moments): the header's MOMENTS, N_PROJ and the
    # stack's D_TRI; a queue of outer products for the full triangle only
    proj, diag = MomentOptions("projections", 3), MomentOptions("diagonal")
    text = build.kernels_text("invariant.games.bilinear", 5, 3, Hook(), 1, moments=proj)
    assert "MOMENTS = 2" in text and "N_PROJ = 3" in text and "D_TRI = 11" in text
    assert "D_TRI = 5" in build.kernels_text("invariant.games.bilinear", 5, 3, Hook(), 1, moments=diag)
    heap = build.kernels_text("invariant.games.bilinear", 64, 32, Hook(), 1, moments=proj)
    assert "Q_TRI = 1" in heap and "MOMENTS = 2" in heap
    for m in (proj, diag):
        compile(cuda_build.kernels_text("invariant.games.bilinear", 5, 3, Hook(), "float64", moments=m), "cuda", "exec")


def test_cuda_takes_the_shared_templates_only():
    text = cuda_build.kernels_text("invariant.games.bilinear", 5, 3, Hook(), "float64")
    defs = {n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
    assert {"_sga_update", "_drift", "_book", "_observe_extra"} <= defs
    assert not {"sde_chunk", "sga_chunk", "_vec", "_open_streams", "_pass_done", "_hook_work"} & defs


def test_a_template_without_its_header_block_is_refused(tmp_path, monkeypatch):
    (tmp_path / "bad.py").write_text("x = 1\n")
    monkeypatch.setattr(render, "TEMPLATES", tmp_path)
    render.template.cache_clear()
    try:
        with pytest.raises(ValueError, match="header"):
            render.template("bad.py")
    finally:
        render.template.cache_clear()
