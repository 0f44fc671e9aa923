"""The README's Python examples run as written (a block with `...` placeholders is a sketch and is skipped)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
RUNNABLE = [b for b in BLOCKS if "..." not in b]


def test_readme_has_runnable_examples():
    assert len(RUNNABLE) >= 2


def test_readme_examples_run_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in RUNNABLE:
        exec(compile(block, str(README), "exec"), namespace)  # our own documentation
    assert (tmp_path / "digits.safetensors").exists()
    assert namespace["w"].grad is not None and abs(namespace["w"].grad).sum() > 0
    assert namespace["history"].epochs[-1]["val_accuracy"] > 0.9
    capsys.readouterr()


@pytest.mark.parametrize("command", ["demo", "explain", "graph", "train", "report", "playground"])
def test_readme_names_each_cli_command(command):
    assert f"chainrule {command}" in README.read_text(encoding="utf-8")
