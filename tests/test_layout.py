"""The house rules of the package, checked: layers, size of functions and of the top, docstring references,
no data-set names in generic code (issue 21)."""
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "analysis"
MODULES = sorted(PACKAGE.rglob("*.py"))


def test_imports_follow_the_layers():
    """import-linter's layers contract of pyproject.toml: spec < read < model < evaluate < present < the top."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Stages import only downward KEPT" in done.stdout


def test_at_most_a_dozen_modules_at_the_top():
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 12, top


def _functions():
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path, node


def test_no_function_over_100_lines():
    long = [(str(p.relative_to(ROOT)), f.name, f.end_lineno - f.lineno + 1) for p, f in _functions()
            if f.end_lineno - f.lineno + 1 > 100]
    assert not long, long


def test_the_hub_reads_as_the_flow():
    hub = next(f for p, f in _functions() if p.name == "pipeline.py" and f.name == "_analyse")
    assert hub.end_lineno - hub.lineno + 1 <= 45


TEST_PATH = re.compile(r"tests/[A-Za-z0-9_/.-]+\.(?:py|json|R|csv|toml)(?:::[A-Za-z0-9_]+)?")


def test_tests_named_in_docstrings_and_docs_exist():
    """Every ``tests/...`` path (and ``::test_name``) a docstring, the README or a document names exists."""
    sources = [*MODULES, ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    for source in sources:
        for ref in set(TEST_PATH.findall(source.read_text())):
            path, _, name = ref.partition("::")
            target = ROOT / path.rstrip(".")
            if not target.exists():
                missing.append((source.name, ref))
            elif name and not re.search(rf"def {re.escape(name)}\b", target.read_text()):
                missing.append((source.name, ref))
    assert not missing, missing


def test_no_data_set_names_in_generic_code():
    """Identifiers of the package (functions, classes, variables, arguments, attributes) name no data set or
    column of one: the words come from the specification. Exempt: the simulator of the coupon data and the
    command line's --max-age, kept for the coupon data's users."""
    words = {"age", "coupon", "coupons", "tmall", "tianmao", "customer", "customers", "job", "marriage"}
    found = []
    for path in MODULES:
        if path.name == "simulate.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = (node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else node.id
                    if isinstance(node, ast.Name) else node.arg if isinstance(node, ast.arg) else node.attr
                    if isinstance(node, ast.Attribute) else None)
            if name and set(name.lower().split("_")) & words and not (path.name == "cli.py" and name == "max_age"):
                found.append((str(path.relative_to(ROOT)), node.lineno, name))
    assert not found, found
