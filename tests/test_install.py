"""The light install: `make run` installs the runtime dependencies only, and chainrule never loads the test oracle.

The install's time and disk (a fresh venv, `pip install .`) are measured by hand and stated in the README: about
a minute, too much for every CI run. What it installs is checked here: the Makefile's `run` recipe resolved
through the requirements the installed distributions declare (no network, no venv is made), and none of the
test tools may be in it; also the runtime dependency list, the recipe, and what `import chainrule` loads.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
TEST_ONLY = ("torch", "hypothesis", "pytest", "nbclient", "ipykernel", "onnxruntime", "tensorboard", "playwright")


def _name(requirement: str) -> str:
    """The distribution name of a requirement string, normalised: ``"torch==2.13.0"`` → ``"torch"``."""
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


RUNTIME = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
TEST_EXTRA = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}


@pytest.mark.parametrize("package", TEST_ONLY)
def test_test_tools_are_not_runtime_dependencies(package):
    assert package not in RUNTIME, f"{package} is a runtime dependency: `make run` would install it"
    assert package in TEST_EXTRA, f"{package} is missing from the test extra: `make test` would not install it"


def _recipe(target_prefix: str) -> list[str]:
    """The command lines of the Makefile rule whose target starts with ``target_prefix``."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(target_prefix))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_make_run_installs_no_extras_and_make_test_installs_the_test_extra():
    run_target = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("run:"))
    stamp = run_target.split(":", 1)[1].split()[0]
    run_install = [line for line in _recipe(stamp) if "pip install" in line]
    assert run_install and all("[" not in line for line in run_install), run_install
    test_target = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("test:"))
    test_install = [line for line in _recipe(test_target.split(":", 1)[1].split()[0]) if "pip install" in line]
    assert any("test" in line.split("pip install", 1)[1] for line in test_install), test_install


def test_import_chainrule_and_its_cli_do_not_load_torch():
    # A fresh interpreter: this test process has loaded torch already (the oracle of other tests).
    code = ("import sys, chainrule, chainrule.cli, chainrule.learn.demos, chainrule._fit; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {TEST_ONLY!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_import_chainrule_leaves_scipy_until_an_op_needs_it():
    # scipy.special costs a fifth of a second and ~17 MB at import; only erf, erfc, erfinv and exact GELU use it
    code = ("import sys, chainrule as cr; before = 'scipy' in sys.modules; "
            "y = cr.erf(cr.tensor([0.5])); print(before, 'scipy' in sys.modules, round(y.item(), 6))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.split() == ["False", "True", str(round(math.erf(0.5), 6))], result.stdout


def _closure(name: str, extras: frozenset[str]) -> set[str]:
    """Every distribution that installing ``name[extras]`` pulls in, read from the installed distributions' own
    metadata (their Requires-Dist, markers evaluated here): what pip resolves, without asking the network."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [(name, extras)]
    while todo:
        current, wanted = todo.pop()
        if _name(current) in seen:
            continue
        seen.add(_name(current))
        try:
            requires = distribution(current).requires or []
        except PackageNotFoundError:
            pytest.fail(f"{current} is required (by the closure of {name}) but not installed here")
        for text in requires:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in (wanted or {""})):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return seen


def test_what_make_run_would_install_holds_no_test_tool():
    """The `run` recipe's install, resolved through the requirements the installed distributions declare: the
    environment `make run` creates holds none of the test tools (a test tool pulled in by a runtime dependency's
    own requirements would show here too)."""
    run_target = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("run:"))
    (install,) = [line for line in _recipe(run_target.split(":", 1)[1].split()[0]) if "pip install" in line]
    (target,) = [a for a in install.split("pip install", 1)[1].split() if a not in ("--quiet", "-e")]
    assert target.startswith("."), install
    extras = frozenset(e.strip() for e in target.removeprefix(".").strip("[]").split(",") if e.strip())
    installed = _closure("chainrule", extras)
    assert {"chainrule", "numpy", "matplotlib", "scikit-learn"} <= installed, sorted(installed)  # it did walk
    assert not installed & {*TEST_ONLY, "nbformat", "onnx", "tensorboardx"}, sorted(installed & {*TEST_ONLY})
    # the walk is not blind: the test extra's closure does hold them
    assert {*TEST_ONLY} <= _closure("chainrule", frozenset({"test"})), "the test extra's closure lacks a test tool"
