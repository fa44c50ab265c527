"""The shape of the code holds: the import contracts in .importlinter (layers, no loops, no view
module imported from below, ml only through ml.infer), and no private name taken across packages."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["config", "api", "analytics", "scans", "audit", "lib", "devtools", "ml"]


def test_the_import_contracts_hold():
    """Run as its own process, as `make lint` runs it: in the test process, import-linter's console
    could write to a stream an earlier test's capture had closed."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), str(ROOT / ".importlinter"), "--no-cache"], check=False, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def private_imports_across_packages() -> list[str]:
    """`from a.b.c import _name` where the importer is not in package a.b."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            home = module if path.name == "__init__.py" else module.rpartition(".")[0]
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                    continue
                for alias in node.names:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if private and node.module.rpartition(".")[0] != home:
                        found.append(f"{module}:{node.lineno} takes {alias.name} from {node.module}")
    return found


def test_no_module_takes_a_private_name_from_another_package():
    assert private_imports_across_packages() == []


def test_the_private_name_check_sees_one(tmp_path, monkeypatch):
    """The check above can fail: a module reaching into another package's private helper is caught."""
    fake = tmp_path / "lib"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "reach.py").write_text("from scans.views.pages import _hidden\n")
    monkeypatch.setattr("tests.test_architecture.ROOT", tmp_path)
    monkeypatch.setattr("tests.test_architecture.PACKAGES", ["lib"])
    assert private_imports_across_packages() == ["lib.reach:1 takes _hidden from scans.views.pages"]
