"""Mistakes that would otherwise show only at run time, in a conversation: an action or query
name (``"services.<module>:<function>"``) that names nothing, and an import circle among the
project's packages."""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import yaml

from services import actions

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "services")
ACTION_RE = re.compile(r"(?:bot|handlers|services)(?:\.\w+)+:\w+")
# Layers, outermost first: a module imports only its own layer and those after it (lazy imports
# inside functions count too).
LAYERS = ("bot", "handlers", "services", "knowledge")

# Circles closed only by an import inside a function (run when called, after every module is
# loaded). Each is listed with why it stays; any other circle fails the test.
ALLOWED_LAZY = {
    ("services.knowledge", "services.kinds"): "knowledge check validates kinds.yaml; kinds loads it through knowledge",
    ("services.knowledge", "services.safety"): "knowledge check validates the safety words; safety loads them through "
                                               "knowledge",
    ("bot", "bot.cli"): "the app factory registers the CLI, whose commands build apps",
    ("bot.jobs", "bot"): "a job run outside a request builds the app",
    ("bot.dashboard", "bot.dashboard.auth"): "Flask's pattern: the blueprint's package registers the views, "
                                             "which import the blueprint",
    ("bot.dashboard", "bot.dashboard.dengue"): "the same blueprint pattern",
    ("bot.dashboard", "bot.dashboard.disaster"): "the same blueprint pattern",
    ("bot.dashboard", "bot.dashboard.common"): "the same blueprint pattern (the request hooks)",
    ("bot.dashboard", "bot.dashboard.cases"): "the same blueprint pattern",
    ("bot.dashboard", "bot.dashboard.case_page"): "the same blueprint pattern",
    ("bot.dashboard", "bot.dashboard.accounts"): "the same blueprint pattern",
    ("bot.dashboard", "bot.dashboard.questions"): "the same blueprint pattern",
    ("bot.dashboard", "bot.dashboard.publish"): "the same blueprint pattern",
    ("bot.dashboard", "bot.dashboard.knowledge"): "the same blueprint pattern",
    ("bot.cli", "bot.knowledge_cli"): "the CLI registers the knowledge commands when it starts; "
                                       "they use the CLI's helpers",
}


def _python_files() -> dict[str, Path]:
    """Module name -> file, for the project's packages (migrations are Alembic's scripts)."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _python_files()


# -- action strings -------------------------------------------------------------------------------

def _strings_in_code() -> dict[str, str]:
    """Every string constant that is an action name, with where it is."""
    found = {}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and ACTION_RE.fullmatch(node.value):
                found.setdefault(node.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _strings_in_knowledge() -> dict[str, str]:
    found = {}

    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(key, where)
                walk(value, where)
        elif isinstance(node, list):
            for value in node:
                walk(value, where)
        elif isinstance(node, str) and ACTION_RE.fullmatch(node.strip()):
            found.setdefault(node.strip(), where)

    for path in sorted((ROOT / "knowledge").rglob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), str(path.relative_to(ROOT)))
    return found


def unresolved(names: dict[str, str]) -> list[str]:
    """The names that do not resolve to a function, as "name (where): why"."""
    problems = []
    for name, where in sorted(names.items()):
        try:
            if name.startswith("services."):
                func = actions.resolve(name)        # the dispatcher's own look-up
            else:
                module, _, attr = name.partition(":")
                func = getattr(importlib.import_module(module), attr)
            if not callable(func):
                problems.append(f"{name} ({where}): not a function")
        except (ImportError, AttributeError, ValueError) as exc:
            problems.append(f"{name} ({where}): {type(exc).__name__}: {exc}")
    return problems


def test_every_action_and_query_name_resolves():
    names = {**_strings_in_knowledge(), **_strings_in_code()}
    # the scan finds the names the conversations use (an empty scan would pass anything)
    assert {"services.disaster.chiefs:bind", "services.dengue:subscribe", "services.disaster:mode_status"} <= set(names)
    assert unresolved(names) == []


def test_a_misspelt_action_name_is_caught():
    problems = unresolved({"services.disaster.chiefs:bnid": "here", "services.chiefs:bind": "there",
                           "services.disaster.chiefs:_private": "x"})
    assert len(problems) == 3 and all("chiefs" in p for p in problems)


# -- imports --------------------------------------------------------------------------------------

def _imports(module: str, path: Path) -> tuple[set[str], set[str]]:
    """(imported when the module is loaded, imported inside functions), as project module names.
    Imports under ``if TYPE_CHECKING:`` are never run and are left out."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    now: set[str] = set()
    later: set[str] = set()

    def target(name: str) -> str | None:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        return name if name and name != module else None

    def visit(node: ast.AST, inside_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            into = later if inside_function else now
            if isinstance(child, ast.Import):
                into.update(filter(None, (target(a.name) for a in child.names)))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                into.update(filter(None, (target(f"{base}.{a.name}") for a in child.names)))
            visit(child, inside_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return now, later - now


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def test_no_import_circle_when_modules_load():
    assert circles({m: now for m, (now, _) in GRAPH.items()}) == []


def test_circles_through_imports_inside_functions_are_only_the_listed_ones():
    edges = {m: {w for w in now | later if (m, w) not in ALLOWED_LAZY} for m, (now, later) in GRAPH.items()}
    assert circles(edges) == []
    stale = [edge for edge in ALLOWED_LAZY if edge[1] not in GRAPH.get(edge[0], ((), ()))[1]]
    assert stale == [], "no longer imported lazily: remove from ALLOWED_LAZY"


def test_imports_go_down_the_layers():
    upward = []
    for module, (now, later) in GRAPH.items():
        layer = LAYERS.index(module.split(".")[0])
        upward += [f"{module} -> {w}" for w in sorted(now | later) if LAYERS.index(w.split(".")[0]) < layer]
    assert upward == []


def test_the_circle_check_can_fail():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
