"""The house rules that import-linter cannot see: every core package is under the layering
contract, function-level imports of project modules say why, module names are unique."""

import ast
import tomllib
from collections import Counter
from pathlib import Path

from tests.support.examples import REPO

PRODUCT = ("verifily", "verifily_assets", "resources", "sensors", "verifily_sdk")
# Entry points of the core package: allowed above the code location.
ENTRY_POINTS = {"verifily.cli", "verifily.api", "verifily.__main__"}


def product_files() -> list[Path]:
    return sorted(p for pkg in PRODUCT for p in (REPO / pkg).rglob("*.py"))


def contracts() -> list[dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_every_core_package_is_under_the_no_dagster_contract():
    forbidden = next(c for c in contracts() if c["type"] == "forbidden")
    core = {
        f"verifily.{p.stem if p.is_file() else p.name}"
        for p in (REPO / "verifily").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert core - ENTRY_POINTS == set(forbidden["source_modules"])
    assert {"dagster", "verifily_assets", "sensors", "resources"} <= set(
        forbidden["forbidden_modules"]
    )


def function_level_project_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a project module inside a function."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [(node.lineno, n) for n in names if n.split(".")[0] in PRODUCT]
    return found


def has_reason(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or just above its block of imports (blank lines and
    other imports may sit between)."""
    if "#" in lines[lineno - 1]:
        return True
    i = lineno - 2
    while i >= 0 and (not lines[i].strip() or lines[i].strip().startswith(("from ", "import "))):
        i -= 1
    return i >= 0 and lines[i].strip().startswith("#")


def test_function_level_imports_of_project_modules_say_why():
    missing = []
    for path in product_files():
        source = path.read_text()
        lines = source.splitlines()
        for lineno, module in function_level_project_imports(source):
            if not has_reason(lines, lineno):
                missing.append(f"{path.relative_to(REPO)}:{lineno}: {module}")
    assert not missing, "function-level imports without a comment saying why:\n" + "\n".join(
        missing
    )


def test_the_check_sees_an_unexplained_function_level_import():
    source = "def f():\n    from verifily.errors import InputError\n    return InputError\n"
    [(lineno, module)] = function_level_project_imports(source)
    assert module == "verifily.errors" and not has_reason(source.splitlines(), lineno)
    explained = "def f():\n    # Imported here: start-up cost.\n    from verifily import tags\n"
    [(lineno, _)] = function_level_project_imports(explained)
    assert has_reason(explained.splitlines(), lineno)


def test_module_names_are_unique_across_the_product():
    names = Counter(p.name for p in product_files() if p.stem not in ("__init__", "__main__"))
    assert [n for n, c in names.items() if c > 1] == []
