"""The layers' arrows point down: ``hardship.core`` imports neither ``tenants`` nor the domain modules
above it (isolation is ``tenants``'s, and reaches the core only through hooks it registers)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "hardship" / "core"
#: what the core may import of this repository: itself, and nothing that builds on it
ALLOWED = ("hardship.core",)
OURS = ("hardship", "tenants", "plugins", "wsgi")


def imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """Every module an ``import`` or ``from ... import`` names anywhere in ``tree`` (also inside functions),
    with relative imports resolved against ``package``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # ``from hardship import audit`` imports the module hardship.audit
            found += [(node.lineno, f"{base}.{alias.name}" if base in OURS else base) for alias in node.names]
    return found


def forbidden(name: str) -> bool:
    top = name.split(".")[0]
    if top not in OURS:
        return False
    return not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED)


def core_violations() -> list[str]:
    violations = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name in imported_modules(tree, "hardship.core"):
            if forbidden(name):
                violations.append(f"{path.relative_to(CORE.parent.parent)}:{line} imports {name}")
    return violations


def test_the_core_imports_no_layer_above_it():
    assert list(CORE.rglob("*.py")), "no core modules found"
    assert core_violations() == []


def test_the_check_sees_imports_anywhere_in_a_module():
    tree = ast.parse("import os\nfrom hardship.core import db\n\ndef f():\n    from tenants.scoping import scope\n"
                     "    import hardship.archives.models\n    from hardship import audit\n    from . import jobs\n")
    names = [name for _line, name in imported_modules(tree, "hardship.core")]
    assert [n for n in names if forbidden(n)] == ["tenants.scoping", "hardship.archives.models", "hardship.audit"]
    assert not forbidden("hardship.core.jobs") and not forbidden("sqlalchemy.orm")
