"""The Python examples of the user guides run as printed, one namespace per page, blocks in order."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["adding_an_environment.md", "reward_spec.md", "gpu_and_clusters.md", "multiagent_libraries.md"]


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


@pytest.mark.parametrize("name", PAGES)
def test_page_examples_run(name, tmp_path, monkeypatch):
    page = DOCS / name
    blocks = python_blocks(page)
    assert blocks, f"{name} has no python example"
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    # a real module, as a script would have: dataclasses and pickle look classes up by module
    module = types.ModuleType(f"docs_{page.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for index, block in enumerate(blocks):
        exec(compile(block, f"{page}:block{index + 1}", "exec"), module.__dict__)


def test_every_guide_links_resolve():
    for name in PAGES:
        for target in re.findall(r"\]\(([^)#]+\.md)", (DOCS / name).read_text()):
            assert (DOCS / target).exists(), f"{name} links to a missing page {target}"
