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


def test_citation_file_and_bibliography_are_well_formed():
    import yaml

    root = DOCS.parent
    citation = yaml.safe_load((root / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert {"message", "title", "authors", "version", "license"} <= set(citation)
    import rewardlab

    assert citation["version"] == rewardlab.__version__

    bib = (DOCS / "references.bib").read_text()
    entries = re.findall(r"^@(\w+)\{([^,]+),(.*?)^\}", bib, re.S | re.M)
    keys = [key for _, key, _ in entries]
    assert len(keys) >= 20 and len(keys) == len(set(keys))
    for _kind, key, body in entries:
        assert body.count("{") == body.count("}"), key
        assert re.search(r"^\s*title\s*=", body, re.M) and re.search(r"^\s*year\s*=\s*\{\d{4}\}", body, re.M), key
        assert re.search(r"^\s*author\s*=", body, re.M), key
    # every family and study names the paper it reproduces
    for key in ("pant2026coopetitiongym", "dasgupta2023punishment", "jaeger2025carl", "xie2026lpn",
                "agarwal2021precipice"):
        assert key in keys
