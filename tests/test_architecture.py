"""The codebase's shape (docs/design.md): no import cycle among invariant's modules
(function-level imports count), small modules and functions, no kernel code in Python
strings, and every ``docs/…`` citation resolving to a file and section."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "invariant"
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 120

pytestmark = pytest.mark.skipif(not PKG.is_dir(), reason="needs the source tree")


def _modules() -> dict:
    out = {}
    for f in PKG.rglob("*.py"):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(name: str, path: Path, mods: dict) -> set:
    """Modules of the package that ``name`` imports anywhere (a function's body included)."""
    is_pkg = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    # a package re-exporting its own children is not a cycle of ideas
    return {m for m in found if m in mods and m != name and not m.startswith(name + ".")}


def _cycles(graph: dict) -> list:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return comps


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_counting_function_level_imports():
    mods = _modules()
    graph = {m: _imports(m, f, mods) for m, f in mods.items()}
    assert _cycles(graph) == []


def test_modules_and_functions_are_small():
    long_modules, long_functions = [], []
    for f in PKG.rglob("*.py"):
        text = f.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append(f"{f.relative_to(ROOT)} ({text.count(chr(10))})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(f"{f.relative_to(ROOT)}:{node.lineno} {node.name} ({n})")
    assert long_modules == [] and long_functions == []


def test_no_kernel_code_in_strings():
    # kernels live in invariant/engine/templates as real modules (docs/kernels.md)
    found = []
    for f in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.count("\n") > 10 \
                    and re.search(r"^\s*def \w+\(", node.value, re.M):
                found.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def _sections(doc: Path) -> set:
    """Section numbers of a markdown file's headings: ``## 4b.`` → 4b, ``### 3.6`` → 3.6."""
    return set(re.findall(r"^#{2,4}\s+(\d+[a-z]?(?:\.\d+)*)[.\s]", doc.read_text(), re.M))


def test_every_docs_citation_resolves():
    sources = [*PKG.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "analyses").rglob("*.py"),
               ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    bad = []
    for f in sources:
        text = f.read_text()
        for doc, sec in re.findall(r"\b(docs/[\w/-]+\.md)(?: §(\d+[a-z]?(?:\.\d+)*))?", text):
            target = ROOT / doc
            if not target.is_file() or (sec and sec not in _sections(target)):
                bad.append(f"{f.relative_to(ROOT)}: {doc}{' §' + sec if sec else ''}")
        bad += [f"{f.relative_to(ROOT)}: {m}" for m in re.findall(r"\b(?:MATH|DESIGN)\.md\b", text)]
    assert bad == []
