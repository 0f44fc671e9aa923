"""The light install: `make run` installs the runtime dependencies only, and chainrule never loads the test oracle.

The install's time and disk (a fresh venv, `pip install .`) are measured by hand and stated in the README: about
a minute, too much for every CI run. What it installs is checked here: pip resolves the Makefile's `run`
recipe from the package index (a dry run, a few seconds: no venv is made), and none of the test tools may be
in what it would install; also the runtime dependency list, the recipe, and what `import chainrule` loads.
"""

from __future__ import annotations

import json
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


def test_what_make_run_would_install_holds_no_test_tool(tmp_path):
    """pip's own resolution of the `run` recipe's install (``--dry-run --ignore-installed --report``): the
    environment `make run` creates, without creating it. Needs the package index, as `make run` does."""
    run_target = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("run:"))
    (install,) = [line for line in _recipe(run_target.split(":", 1)[1].split()[0]) if "pip install" in line]
    arguments = [a for a in install.split("pip install", 1)[1].split() if a not in ("--quiet", "-e")]
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                    "--report", str(report), *arguments], cwd=ROOT, check=True, capture_output=True, text=True)
    installed = {item["metadata"]["name"].lower().replace("_", "-")
                 for item in json.loads(report.read_text(encoding="utf-8"))["install"]}
    assert "chainrule" in installed and "numpy" in installed, sorted(installed)  # the resolution did run
    assert not installed & {*TEST_ONLY, "nbformat", "onnx", "tensorboardx"}, sorted(installed & {*TEST_ONLY})
