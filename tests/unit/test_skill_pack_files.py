"""The skill pack's generated and documented parts stay true to the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tollama.mcp import openai_tools
from tollama.mcp.tools import TOOLS

PACK = Path(__file__).resolve().parents[2] / "skills" / "tollama-forecast"


def test_openai_tools_json_has_not_drifted() -> None:
    assert (PACK / "openai-tools.json").read_text() == openai_tools.render(), (
        "regenerate: python -m tollama.mcp.openai_tools skills/tollama-forecast/openai-tools.json")


def test_openai_tools_are_the_mcp_tools() -> None:
    defs = json.loads((PACK / "openai-tools.json").read_text())
    assert [d["function"]["name"] for d in defs] == [t.name for t in TOOLS]
    assert all(d["type"] == "function" and d["function"]["parameters"]["type"] == "object" for d in defs)


def test_skill_md_names_every_script_and_exit_code() -> None:
    text = (PACK / "SKILL.md").read_text()
    assert text.startswith("---\nname: tollama-forecast\ndescription: ")
    scripts = sorted(p.name for p in (PACK / "scripts").glob("*.sh") if p.name != "lib.sh")
    assert scripts and all(f"scripts/{s}" in text for s in scripts)
    table = {int(m) for m in re.findall(r"^\| (\d+) \|", text, flags=re.M)}
    assert table == {0, 2, 3, 4, 5, 6, 10}
