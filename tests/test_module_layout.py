"""Every domain module has the same files where they apply (docs/architecture.md, "Module layout"), and command
line commands live with their module in its ``cli.py``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "hardship" / "templates"
KINDS = ("models", "schemas", "operations", "queries", "api", "views", "forms", "jobs", "cli", "templates")
EDITED = {"models", "schemas", "operations", "api", "views", "forms", "templates"}  # users change its records
READ_ONLY = {"models", "api", "views", "templates"}  # the core writes its records (audit.record, core.jobs)

#: each domain module and the shared files it has; why a kind applies is in docs/architecture.md
LAYOUT = {
    "hardship/accounts": EDITED | {"cli"},
    "hardship/archives": EDITED | {"queries", "jobs", "cli"},
    "hardship/funds": EDITED | {"queries", "cli"},
    "hardship/goods": EDITED | {"queries", "cli"},
    "hardship/aid": EDITED | {"queries", "jobs", "cli"},
    "hardship/desk": EDITED | {"queries", "cli"},
    "hardship/reports": EDITED | {"queries", "jobs", "cli"},
    "tenants": EDITED | {"jobs"},
    "hardship/audit": READ_ONLY | {"schemas", "queries"},
    "hardship/jobs": READ_ONLY | {"cli"},
}


def kinds_of(package: Path) -> set[str]:
    found = {kind for kind in KINDS if (package / f"{kind}.py").is_file()}
    if (TEMPLATES / package.name).is_dir():
        found.add("templates")
    return found


def test_every_domain_module_has_its_files():
    assert {path: kinds_of(ROOT / path) for path in LAYOUT} == LAYOUT


def test_every_domain_module_is_listed():
    packages = [p for p in (ROOT / "hardship").iterdir() if (p / "models.py").is_file()]
    assert {f"hardship/{p.name}" for p in packages} | {"tenants"} == set(LAYOUT)


def _defines_commands(path: Path) -> bool:
    """Whether the module makes click commands or groups (``@click.command``, ``@x.command(...)``, ``AppGroup(...)``)."""
    def name(node):
        node = node.func if isinstance(node, ast.Call) else node
        return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and any(name(d) in ("command", "group") for d in node.decorator_list):
            return True
        if isinstance(node, ast.Call) and name(node) == "AppGroup":
            return True
    return False


def test_commands_live_in_their_modules_cli():
    places = sorted(str(p.relative_to(ROOT)) for top in ("hardship", "tenants", "plugins")
                    for p in (ROOT / top).rglob("*.py") if _defines_commands(p))
    assert places and all(p.endswith("/cli.py") for p in places), places


def test_module_commands_are_registered():
    from hardship.app import _discover

    modules = [m for m in _discover("cli") if m.__name__ not in ("hardship.cli", "hardship.core.cli")]
    assert modules and all(getattr(m, "commands", None) for m in modules), [m.__name__ for m in modules]
