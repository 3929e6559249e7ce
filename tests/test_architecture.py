"""The house's rules (docs/architecture.md), read from the source with `ast`:

- no import cycle among the project's modules, counting imports inside functions too;
- `models` imports nothing from `optimizer` (formats and data stand alone);
- only optimizer/planning/highs.py imports highspy or Pyomo's appsi (the solver boundary);
- optimizer/check.py imports nothing of the planning pipeline (an independent checker).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_files() -> list[Path]:
    files = [ROOT / "cli.py"]
    for room in ("models", "optimizer"):
        files += sorted((ROOT / room).rglob("*.py"))
    return files


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at module level or inside functions (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(p for p in [*parts, base] if p)
            out.add(base)
            out |= {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return out


def project_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in project_files()}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in imports_of(path) if m in modules and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a list of modules (first = last), or None. Depth-first with colours."""
    colour = {n: 0 for n in graph}  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        colour[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if colour.get(m, 2) == 1:
                return stack[stack.index(m):] + [m]
            if colour.get(m) == 0:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        colour[n] = 2
        return None

    for n in sorted(graph):
        if colour[n] == 0:
            found = visit(n)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a2"}, "a2": {"a"}}) == ["a", "a2", "a"]


def test_no_import_cycle_among_the_projects_modules():
    graph = project_graph()
    assert len(graph) > 30 and "optimizer.planning.solve" in graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_models_import_nothing_from_optimizer():
    offenders = {name: sorted(m for m in deps if m.startswith("optimizer"))
                 for name, deps in project_graph().items() if name.startswith("models")}
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_only_the_highs_module_touches_the_solver():
    touching = []
    for path in project_files():
        deps = imports_of(path)
        if any(d == "highspy" or d.startswith("highspy.") or d.startswith("pyomo.contrib.appsi") for d in deps):
            touching.append(module_name(path))
    assert touching == ["optimizer.planning.highs"], touching


def test_the_checker_knows_nothing_of_the_planner():
    deps = imports_of(ROOT / "optimizer" / "check.py")
    assert not [d for d in deps if d.startswith(("optimizer.planning", "pyomo", "highspy"))], deps


# Rooms point one way (docs/architecture.md): a room never imports a room above it.
# The first match of a module's name decides its room.
ROOMS_ABOVE = {
    "models": ("optimizer", "cli"),
    "optimizer.compliance": ("optimizer.planning", "optimizer.analysis", "optimizer.service", "optimizer.output", "cli"),
    # the checker sits below planning: every plan is checked before it is reported (issue 17)
    "optimizer.check": ("optimizer.planning", "optimizer.analysis", "optimizer.service", "optimizer.output", "cli"),
    "optimizer.planning": ("optimizer.analysis", "optimizer.service", "optimizer.output", "cli"),
    "optimizer.analysis": ("optimizer.service", "optimizer.output", "cli"),
    "optimizer.output": ("optimizer.service", "cli"),
    "optimizer.service": ("cli",),
}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for name, deps in sorted(graph.items()):
        room = next((r for r in ROOMS_ABOVE if name == r or name.startswith(r + ".")), None)
        for dep in sorted(deps):
            if room is not None and any(dep == a or dep.startswith(a + ".") for a in ROOMS_ABOVE[room]):
                found.append(f"{name} -> {dep}")
    return found


def test_the_room_rule_finds_an_upward_import():
    assert upward_imports({"optimizer.analysis.explain": {"optimizer.output.report"}}) == [
        "optimizer.analysis.explain -> optimizer.output.report"]
    assert upward_imports({"optimizer.output.report": {"optimizer.analysis.explain", "models.result"}}) == []
    assert upward_imports({"optimizer.planning.solve": {"cli"}}) == ["optimizer.planning.solve -> cli"]


def test_rooms_point_one_way_and_nothing_imports_cli():
    graph = project_graph()
    assert upward_imports(graph) == []
    assert not [n for n, deps in graph.items() if "cli" in deps]


def test_only_the_scale_room_imports_mpisppy():
    touching = sorted(module_name(p) for p in project_files()
                      if any(d == "mpisppy" or d.startswith("mpisppy.") for d in imports_of(p)))
    assert touching and all(m.startswith("optimizer.scale.") for m in touching), touching
