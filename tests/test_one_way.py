"""One way to do each thing: the shared pieces of logic exist once in hardship/, tenants/ and plugins/.

Reads the source as text and syntax trees; runs nothing. When one of these fails, use the existing helper
named in the message instead of writing another.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hardship", "tenants", "plugins")
#: lines in a row that make a copy
WINDOW = 6


def _modules() -> dict[str, str]:
    return {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
            for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def _calls(source: str) -> list[tuple[str, int]]:
    """The names of the functions and methods called in ``source``, with their line numbers."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name:
                found.append((name, node.lineno))
    return found


def _where(name: str) -> set[str]:
    return {path for path, source in _modules().items() if any(n == name for n, _line in _calls(source))}


def test_insert_or_skip_exists_once():
    assert _where("on_conflict_do_nothing") == {"hardship/core/db.py"}, \
        "ON CONFLICT DO NOTHING is written by hardship.core.db.insert_or_skip only"


def test_pagination_exists_once():
    assert _where("offset") == {"hardship/core/db.py"}, "pages of a list come from hardship.core.db.page_of only"


def test_each_export_is_audited_in_one_place():
    """An export's audit action (``funds.export_balances``, ``household.export_unmasked``, ...) is recorded by one
    function, which makes the workbook too: the API, the pages and the command line call it. (A module's
    ``audit_actions.py`` names the action for the log; it records nothing.)"""
    places = defaultdict(list)
    for path, source in _modules().items():
        if path.endswith("audit_actions.py"):
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"[a-z_]+\.export_[a-z_]+", node.value):
                places[node.value].append(f"{path}:{node.lineno}")
    assert places, "no export action found: the test no longer sees them"
    assert {action: where for action, where in places.items() if len(where) > 1} == {}


def test_workbooks_are_written_by_one_helper():
    """Every workbook goes through hardship.core.xlsx, which writes text as text (never a formula from what
    people typed), money as numbers of yuan, dates as dates."""
    sources = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
               for folder in (*PACKAGES, "tools", "tests") for path in (ROOT / folder).rglob("*.py")}
    users = {path for path, source in sources.items()
             if re.search(r"^\s*(import xlsxwriter|from xlsxwriter\b)", source, re.MULTILINE)}
    assert users == {"hardship/core/xlsx.py"}, "write workbooks with hardship.core.xlsx.Workbook"


#: the core parsers of identifiers and money, which the input layer (hardship.core.fields) wraps
PARSERS = {"parse_fen", "parse_id_number", "parse_phone", "parse_card_number", "parse_name", "parse_flag"}
#: modules outside hardship/core that may call a parser, and why: none of them validates a person's input
PARSER_USES = {
    "hardship/archives/queries.py": "is the searched text an ID number? then search the blind index",
    "hardship/archives/exports.py": "mask a searched ID number before it is written to the audit log",
    "hardship/archives/importing/rows.py": "the ID numbers of a refused row, for one person, one archive in a file",
    "hardship/archives/views.py": "whether the card number typed so far fails the Luhn check (the form's warning)",
}


def test_field_checks_exist_once():
    """Input is checked by the module schemas, built from hardship.core.fields; no other module parses
    identifiers or money by itself (the exceptions above read values, they do not validate them)."""
    users = {path for path, source in _modules().items() if not path.startswith("hardship/core/")
             and PARSERS & {name for name, _line in _calls(source)}}
    assert users == set(PARSER_USES), f"parsers called outside the input layer: {sorted(users - set(PARSER_USES))}"


def _code_lines(source: str) -> list[tuple[int, str]]:
    """The lines that carry logic: no blank lines, comments, docstrings or import statements, white space
    folded."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    lines = []
    for number, text in enumerate(source.splitlines(), 1):
        text = " ".join(text.split("#", 1)[0].split()) if "#" in text and "'" not in text and '"' not in text \
            else " ".join(text.split())
        if number in skip or not text or len(text) < 4:  # lone brackets and keywords say nothing
            continue
        lines.append((number, text))
    return lines


def test_no_logic_is_written_twice():
    """No run of six code lines stands twice in hardship/, tenants/ and plugins/ (copy it into a function)."""
    seen: dict[tuple[str, ...], tuple[str, int]] = {}
    copies = []
    for path, source in _modules().items():
        lines = _code_lines(source)
        for i in range(len(lines) - WINDOW + 1):
            window = tuple(text for _n, text in lines[i:i + WINDOW])
            here = f"{path}:{lines[i][0]}"
            earlier = seen.setdefault(window, (path, i))
            if earlier != (path, i) and (earlier[0] != path or i - earlier[1] >= WINDOW):  # not overlapping itself
                copies.append(f"{here} repeats {earlier[0]}:{_code_lines(_modules()[earlier[0]])[earlier[1]][0]}")
    assert copies == []
