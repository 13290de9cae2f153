"""The layer's import rules (docs/architecture.md, "Layers"): each package imports only from itself
and from the layers below it, and no module imports itself back through others. Every import
counts, those inside functions and under TYPE_CHECKING too: a lazy import still ties the layers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "common" / "voice_agents"

# Bottom to top; a package may import from packages of a lower rank, never from its own rank's
# neighbours or above.
RANKS = {
    "core": 0,
    "data": 1,
    "providers": 1,
    "models": 2,
    "runtime": 2,
    "flows": 3,
    "http": 4,
    "repair": 4,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path) -> set[str]:
    """The layer's modules ``name`` imports (``from voice_agents.x import y`` names x.y when it is a
    module, else x)."""
    known = modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{alias.name}" for alias in node.names]
            targets = [target if target in known else node.module for target in targets]
        else:
            continue
        found.update(target for target in targets if target.startswith("voice_agents.") and target in known)
    found.discard(name)
    return found


def layer_of(module: str) -> str:
    return module.split(".")[1]


def graph() -> dict[str, set[str]]:
    return {name: imports_of(name, path) for name, path in modules().items() if name != "voice_agents"}


def test_every_package_of_the_layer_has_a_rank() -> None:
    packages = {layer_of(name) for name in graph()}
    assert packages == set(RANKS), "a new package needs its place in RANKS and in docs/architecture.md"


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} imports {target}"
        for module, targets in edges.items()
        for target in sorted(targets)
        if layer_of(target) != layer_of(module) and RANKS[layer_of(target)] >= RANKS[layer_of(module)]
    ]


def cycles_in(edges: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return cycles


def test_imports_point_downwards_only() -> None:
    assert upward_imports(graph()) == []


def test_no_module_imports_itself_back() -> None:
    assert cycles_in(graph()) == []


def test_the_rules_catch_what_they_forbid() -> None:
    """The checks themselves: an upward import, a sideways one, and a cycle are reported."""
    edges = {
        "voice_agents.core.tags": {"voice_agents.data.agents"},
        "voice_agents.http.errors": {"voice_agents.repair.sweep"},
        "voice_agents.flows.agents.reads": {"voice_agents.models.agents"},
    }
    assert upward_imports(edges) == [
        "voice_agents.core.tags imports voice_agents.data.agents",
        "voice_agents.http.errors imports voice_agents.repair.sweep",
    ]
    ring = {
        "voice_agents.flows.a": {"voice_agents.flows.b"},
        "voice_agents.flows.b": {"voice_agents.flows.a"},
    }
    assert cycles_in(ring) == [["voice_agents.flows.a", "voice_agents.flows.b", "voice_agents.flows.a"]]


def test_a_lazy_import_counts(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from voice_agents.repair.sweep import sweep\n")
    assert imports_of("voice_agents.core.lazy", module) == {"voice_agents.repair.sweep"}
