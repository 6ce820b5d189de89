"""The package's dependency direction, read from the code's own imports: cli -> capabilities -> foundations.

Each `generator/<package>/__init__.py` docstring says what the package may import; ALLOWED is the same
table as data, and docs/architecture.md draws it. A capability (`new`, `fleet`, `policy`, `init`) never
imports another capability, and a foundation never imports a capability.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOUNDATIONS = {"errors", "runtime", "reader", "template", "cluster"}
CAPABILITIES = {"new", "fleet", "policy", "init"}
# What each part of `generator` may import besides itself and the root package (`generator.__version__`).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "runtime": set(),
    "reader": {"errors"},
    "template": {"errors", "reader"},
    "cluster": {"errors", "template", "reader"},
    "new": FOUNDATIONS,
    "fleet": FOUNDATIONS,
    "policy": FOUNDATIONS,
    "init": FOUNDATIONS,
    "cli": FOUNDATIONS | CAPABILITIES,
    "__main__": {"cli"},
}
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "errors.py"}


def _part(module: str, package: str) -> str | None:
    """`generator.fleet.git` -> `fleet`; the root package itself -> None; other libraries -> None."""
    names = module.split(".")
    if names[0] != package or len(names) == 1:
        return None
    return names[1]


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """Every module `path` imports (top level, inside functions, under TYPE_CHECKING), absolute names."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, one level up per extra dot
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from generator import fleet` imports a part, not a name of the root package.
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def violations(package_dir: Path) -> list[str]:
    """`file:line: A imports B` for every import against ALLOWED, in the tree rooted at `package_dir`."""
    package = package_dir.name
    problems: list[str] = []
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        own = _part(module, package)
        if own is None:
            continue
        for line, target in _imports(path, module):
            other = _part(target, package)
            if other is None or other == own or other not in ALLOWED:
                continue
            problem = f"{path.relative_to(package_dir.parent)}:{line}: {own} imports {other}"
            if other not in ALLOWED.get(own, set()) and problem not in problems:
                problems.append(problem)
    return problems


def test_generator_imports_point_one_way() -> None:
    assert violations(ROOT / "generator") == []


def test_every_module_belongs_to_a_package() -> None:
    """No flat modules: only `__init__`, `__main__` and the errors module stand at the top."""
    top = {path.name for path in (ROOT / "generator").glob("*.py")}
    assert top <= TOP_LEVEL_MODULES, top - TOP_LEVEL_MODULES
    packages = {path.parent.name for path in (ROOT / "generator").glob("*/__init__.py")}
    assert packages == set(ALLOWED) - {"errors", "__main__"}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = root / "generator" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root / "generator"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from generator.policy.engine import check_paths\n", "new imports policy"),
        ("def later():\n    from generator.fleet import git\n", "new imports fleet"),
        ("from generator import fleet\n", "new imports fleet"),
        ("import generator.policy\n", "new imports policy"),
        ("from ..fleet import git\n", "new imports fleet"),
    ],
)
def test_a_capability_importing_another_is_reported(tmp_path: Path, source: str, expected: str) -> None:
    """The check itself, on a synthetic tree: every spelling of a forbidden import is caught."""
    package = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "template/__init__.py": "from generator.errors import X\n",
            "new/__init__.py": "",
            "new/wizard.py": "from generator.template import questions\n" + source,
            "fleet/__init__.py": "",
            "fleet/git.py": "",
            "policy/__init__.py": "",
            "policy/engine.py": "",
        },
    )
    assert [problem.split(": ", 1)[1] for problem in violations(package)] == [expected]


def test_a_foundation_importing_a_capability_is_reported(tmp_path: Path) -> None:
    files = {"template/questions.py": "from generator.new import sizing\n", "new/sizing.py": ""}
    package = _tree(tmp_path, files)
    assert violations(package) == ["generator/template/questions.py:1: template imports new"]


def test_allowed_imports_are_not_reported(tmp_path: Path) -> None:
    package = _tree(
        tmp_path,
        {
            "cli/new.py": "from generator.new.wizard import run_new\nfrom generator import __version__\n",
            "new/wizard.py": "from generator.template.questions import Question\nimport yaml\n",
            "policy/cluster.py": "from generator.cluster.facts import cluster\n",
        },
    )
    assert violations(package) == []
