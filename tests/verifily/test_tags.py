"""One vocabulary: every tag, label and MLflow tag key that the product reads is written by it
(or by Dagster), and no `verifily/...` key is spelled outside `verifily/tags.py`.

A tag read and never written is how the data-window bug happened: the executor read
`verifily/data_window` while the sensor wrote `verifily/window_from`.
"""

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.examples import REPO
from verifily import tags

PRODUCT = ("verifily", "verifily_assets", "resources", "sensors", "verifily_sdk")
TAGS_FILE = REPO / "verifily" / "tags.py"
# Calls whose key argument writes (MLflow's client.set_tag) or reads (mapping.get) a tag.
WRITE_CALLS = {"set_tag"}
READ_CALLS = {"get"}
# Calls whose `tags=` mapping is a filter (a read), not tags being written.
FILTER_CALLS = {"RunsFilter"}


@dataclass(frozen=True)
class Use:
    path: str
    line: int
    col: int
    name: str


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


@functools.cache
def tag_uses(path: str, source: str) -> tuple[list[Use], list[Use]]:
    """(writes, reads) of the constants this module imports from verifily.tags."""
    tree = ast.parse(source)
    names = {
        a.asname or a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "verifily.tags"
        for a in node.names
    }
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    writes, reads = [], []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id in names):
            continue
        use = Use(path, node.lineno, node.col_offset, node.id)
        parent = parents.get(node)
        if isinstance(parent, ast.Dict) and node in parent.keys:
            holder = parents.get(parent)
            is_filter = (
                isinstance(holder, ast.keyword)
                and holder.arg == "tags"
                and _call_name(parents[holder]) in FILTER_CALLS  # type: ignore[arg-type]
            )
            (reads if is_filter else writes).append(use)
        elif isinstance(parent, ast.Subscript) and parent.slice is node:
            (writes if isinstance(parent.ctx, ast.Store) else reads).append(use)
        elif isinstance(parent, ast.Compare) and parent.left is node:
            if any(isinstance(op, ast.In | ast.NotIn) for op in parent.ops):
                reads.append(use)
        elif isinstance(parent, ast.Call) and node in parent.args:
            if _call_name(parent) in WRITE_CALLS:
                writes.append(use)
            elif _call_name(parent) in READ_CALLS and parent.args[0] is node:
                reads.append(use)
    return writes, reads


@functools.cache
def _sources() -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(p.relative_to(REPO)), p.read_text())
        for pkg in PRODUCT
        for p in sorted((REPO / pkg).rglob("*.py"))
        if p != TAGS_FILE
    )


def product_sources() -> dict[str, str]:
    return dict(_sources())


def unwritten_reads(sources: dict[str, str]) -> dict[str, list[Use]]:
    """Tag constants read somewhere and written nowhere (Dagster's own tags excepted)."""
    writes: set[str] = set()
    reads: dict[str, list[Use]] = {}
    for path, source in sources.items():
        w, r = tag_uses(path, source)
        writes |= {u.name for u in w}
        for u in r:
            reads.setdefault(u.name, []).append(u)
    external = {
        n for n, v in vars(tags).items() if isinstance(v, str) and v in tags.WRITTEN_BY_DAGSTER
    }
    return {n: uses for n, uses in reads.items() if n not in writes and n not in external}


def test_every_tag_that_is_read_is_written():
    missing = unwritten_reads(product_sources())
    assert not missing, {n: [f"{u.path}:{u.line}" for u in uses] for n, uses in missing.items()}


def _without_writes_of(sources: dict[str, str], name: str) -> dict[str, str]:
    """The sources with every write of `name` renamed away, as if it had been deleted."""
    out = dict(sources)
    for path, source in sources.items():
        writes, _ = tag_uses(path, source)
        lines = source.splitlines(keepends=True)
        for use in sorted((u for u in writes if u.name == name), key=lambda u: -u.col):
            line = lines[use.line - 1]
            lines[use.line - 1] = (
                line[: use.col] + "DELETED_" + line[use.col + len(name) :]
            )  # fmt: skip
        out[path] = "".join(lines)
    return out


def read_tags() -> list[str]:
    reads = set()
    for path, source in product_sources().items():
        reads |= {u.name for u in tag_uses(path, source)[1]}
    return sorted(n for n in reads if getattr(tags, n) not in tags.WRITTEN_BY_DAGSTER)


@pytest.mark.parametrize("name", read_tags())
def test_deleting_the_writes_of_a_read_tag_is_caught(name):
    """The check above has teeth: for every tag the product reads, deleting its writes fails it
    (the data window tag among them)."""
    assert name in unwritten_reads(_without_writes_of(product_sources(), name))


def test_the_data_window_is_read_and_written():
    assert "DATA_WINDOW" in read_tags()


def _string_constants(source: str) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_tag_key_is_spelled_outside_the_vocabulary():
    spelled = [
        f"{path}:{line}: {value!r}"
        for path, source in product_sources().items()
        for line, value in _string_constants(source)
        if value.startswith(tags.PREFIX) or value.startswith("verifily.") and " " not in value
        and value.split(".")[1] in {"run_dir", "decision", "eval_metrics", "error", "trigger"}
    ]  # fmt: skip
    assert not spelled


def test_retrain_job_name_comes_from_the_vocabulary():
    literal = [
        f"{path}:{line}"
        for path, source in product_sources().items()
        for line, value in _string_constants(source)
        if value == tags.RETRAIN_JOB
    ]
    assert not literal
    assert Path(TAGS_FILE).read_text().count(f'"{tags.RETRAIN_JOB}"') == 1
