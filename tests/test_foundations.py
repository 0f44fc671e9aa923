"""The repository's foundations (issue 2): the console command, packaging metadata, the two commands and CI."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import chainrule
from chainrule.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_chainrule_version_and_help(capsys):
    try:
        main(["--version"])
    except SystemExit as stop:  # argparse's version action exits 0 after printing
        assert stop.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {chainrule.__version__}"
    assert main([]) == 0  # no subcommand: the help, not a traceback
    text = capsys.readouterr().out
    assert text.startswith("usage: chainrule")
    for command in ("train", "report", "demo", "explain", "graph"):
        assert re.search(rf"^\s+{command}\s+\S", text, flags=re.M), f"{command} is missing from --help"


def test_the_console_command_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "chainrule", "--help"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0 and result.stdout.startswith("usage: chainrule"), result.stderr


def test_pyproject_declares_the_command_numpy_and_test_and_dev_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["chainrule"] == "chainrule.cli:main"
    assert project["project"]["requires-python"].startswith(">=3.11")
    assert any(re.match(r"numpy\b", dep) for dep in project["project"]["dependencies"])
    extras = project["project"]["optional-dependencies"]
    tools = " ".join(extras["test"] + extras["dev"])  # what `make test` installs
    for tool in ("pytest", "ruff", "hypothesis", "torch"):
        assert tool in tools, f"the test and dev extras lack {tool}"
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["chainrule"]
    assert (ROOT / "chainrule" / "py.typed").is_file()


def test_readme_two_commands_are_make_targets_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, flags=re.M).group(1)
    test = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, flags=re.M).group(1)
    assert "chainrule demo" in run  # the main job is the failure gallery
    assert "ruff check" in test and "pytest" in test
    assert re.search(r"^(run|test): \$\(BIN\)/\.installed", makefile, flags=re.M)  # each sets up .venv first
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -e" in ci and re.search(r"^make test$", ci, flags=re.M)
