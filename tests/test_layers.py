"""The layers of backend/: imports point one way, with no circle and no import hidden in a function.

A module belongs to the layer of the longest prefix below that names it, or to the top layer
when it is an entry point: the routes, CLI commands and sweep registrations that create_app
wires up. A module may import from its own layer and the layers under it, never from one above.
Imports of our modules inside functions are allowed only where the app is put together
(``create_app`` and ``_register_domains``, and where a configured store or transport loads its
client library) and in CLI commands. A third-party library that one feature alone uses may be
imported where that feature runs, so that a worker holds it only once it is used
(``tests/test_app.py`` names those a server process must not load at start).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "backend"

# Lowest first. Each entry: the layer's name and the module prefixes it holds.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "core",
        (
            "backend.config",
            "backend.text",
            "backend.i18n",
            "backend.parsing",
            "backend.phones",
            "backend.crypto",
            "backend.db",
            "backend.dbwatch",
            "backend.observability",
            "backend.extensions",
            "backend.ratelimits",
            "backend.errors",
            "backend.unitofwork",
            "backend.apiheaders",
            "backend.operations",
            "backend.apidoc",
            "backend.dumping",
            "backend.web",
            "backend.pagination",
            "backend.trails",
            "backend.states",
            "backend.compression",
            "backend.server",
            "backend.gunicorn_conf",
        ),
    ),
    ("storage, workdays, agencies", ("backend.storage", "backend.workdays", "backend.agencies")),
    # Who exists: accounts, sessions, grants. The outbox addresses people through them.
    ("accounts", ("backend.identity.models", "backend.identity.roles")),
    ("notifications", ("backend.notifications",)),
    ("identity", ("backend.identity",)),
    ("catalog", ("backend.catalog",)),
    ("providers", ("backend.providers",)),
    ("dossiers", ("backend.dossiers",)),
    ("engagement", ("backend.engagement",)),
    ("reports", ("backend.reports",)),
    ("idempotency", ("backend.idempotency",)),
]
ENTRY = "entry points"
# Modules (or packages, by their last name) that create_app wires up and nothing else imports.
ENTRY_NAMES = frozenset({"routes", "cli", "sweeps", "worker"})
ENTRY_MODULES = frozenset({"backend", "backend.wsgi", "backend.health", "backend.docs"})
# Where an import inside a function is the point: putting the app together, and loading a
# heavy client library only where the configuration chooses it (S3 storage, FCM push).
ASSEMBLY = {
    "backend": {"create_app", "_register_domains"},
    "backend.storage": {"create_store"},
    "backend.notifications.transports": {"init_app"},
    "backend.providers.services.remote": {"_session"},
}
ORDER = [name for name, _ in LAYERS] + [ENTRY]


def _modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def layer_of(module: str) -> str | None:
    if module in ENTRY_MODULES or ENTRY_NAMES & set(module.split(".")[1:]):
        return ENTRY
    matches = [
        (len(prefix), name)
        for name, prefixes in LAYERS
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The backend modules an import statement loads (a package's __init__ included)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package.pop()
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        names = [f"{base}.{alias.name}" for alias in node.names]
        names = [name if name in MODULES else base for name in names]
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def _is_cli_command(function: ast.FunctionDef) -> bool:
    for decorator in function.decorator_list:
        call = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(call, ast.Attribute) and call.attr == "command":
            return True
    return False


def _imports() -> tuple[dict[str, set[str]], list[str]]:
    """Module-level import graph, and the imports found inside functions where none belong."""
    graph: dict[str, set[str]] = defaultdict(set)
    hidden = []
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[module] |= _targets(module, node)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if function.name in ASSEMBLY.get(module, ()) or _is_cli_command(function):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and _targets(module, node):
                    where = MODULES[module].relative_to(ROOT.parent)
                    hidden.append(f"{where}:{node.lineno} in {function.name}()")
    return graph, hidden


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(MODULES):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


GRAPH, HIDDEN = _imports()


def test_every_module_has_a_layer():
    unplaced = [module for module in sorted(MODULES) if layer_of(module) is None]
    assert not unplaced, "place these in LAYERS: " + ", ".join(unplaced)


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module in sorted(GRAPH)
        for target in sorted(GRAPH[module])
        if ORDER.index(layer_of(target)) > ORDER.index(layer_of(module))
    ]
    assert not upward, "imports from a layer above:\n" + "\n".join(upward)


def test_no_import_circle():
    circles = [" <-> ".join(circle) for circle in _circles(GRAPH)]
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_no_import_inside_a_function_but_where_the_app_is_assembled():
    assert not HIDDEN, "imports inside functions:\n" + "\n".join(HIDDEN)


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("backend.errors", "core"),
        ("backend.agencies.services", "storage, workdays, agencies"),
        ("backend.identity.models", "accounts"),
        ("backend.identity.access", "identity"),
        ("backend.notifications.transports.fcm", "notifications"),
        ("backend.dossiers.routes.citizen", ENTRY),
        ("backend.notifications.worker", ENTRY),
        ("backend", ENTRY),
    ],
)
def test_layers_are_assigned_as_the_readme_draws_them(module, layer):
    assert layer_of(module) == layer
