"""Regenerate the environment tables in README.md and docs/environments.md from the registry."""

from __future__ import annotations

import re
from pathlib import Path

from rewardlab.commands.list_envs import environment_rows, markdown_table

ROOT = Path(__file__).resolve().parents[1]
MARKERS = re.compile(r"(<!-- envs:start -->\n).*?(<!-- envs:end -->)", re.S)


def main() -> None:
    table = markdown_table(environment_rows())
    for path in (ROOT / "README.md", ROOT / "docs" / "environments.md"):
        text = path.read_text()
        path.write_text(MARKERS.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text))
        print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
