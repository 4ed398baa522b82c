"""The README's code runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert set(namespace["info"]["reward_terms"]) >= {"route_progress", "f_speed", "reward"}
    assert namespace["venv"].num_envs == 16 * 2  # one slot per (instance, agent)
    assert "reward=sum over agents of private" in repr(namespace["team"].unwrapped)
