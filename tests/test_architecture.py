"""The shape of the code, as a specification: what import-linter (layers, in `make test`) cannot say.

Celery tasks and the services that queue them call each other. Neither imports the other when it is
loaded: a tasks module imports its services inside the task body, and a service imports a task
inside the function that queues it. So there is no import cycle between them, and a worker can load
any tasks module first.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("projects", "integrations", "issues")


def _python_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _module_level_imports(path: Path) -> set[str]:
    """The modules a file imports when it is loaded (top level, not inside a function)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


TASK_MODULES = [path for path in _python_files() if path.name == "tasks.py"]


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize("tasks_path", TASK_MODULES, ids=_module)
def test_a_tasks_module_imports_no_module_of_its_app_that_imports_it(tasks_path):
    tasks = _module(tasks_path)
    importers = {
        _module(path) for path in _python_files() if path != tasks_path and tasks in _module_level_imports(path)
    }
    loaded = _module_level_imports(tasks_path)
    assert not importers & loaded, f"{tasks} and {sorted(importers & loaded)} import each other when loaded"


@pytest.mark.parametrize("tasks_path", TASK_MODULES, ids=_module)
def test_no_service_imports_a_tasks_module_when_loaded(tasks_path):
    tasks = _module(tasks_path)
    services = [path for path in _python_files() if path.name == "services.py" or path.parent.name == "sync"]
    offenders = [_module(path) for path in services if tasks in _module_level_imports(path) and path != tasks_path]
    assert not offenders, f"{offenders} import {tasks} at module level; import the task where it is queued"
