"""OpenAI function-calling definitions of tollama's tools, from the same table as ``tollama mcp``.

``python -m tollama.mcp.openai_tools FILE`` writes them (the skill pack's ``openai-tools.json``;
a test checks the file for drift).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tollama.mcp.tools import TOOLS


def definitions() -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema()}} for t in TOOLS]


def render() -> str:
    return json.dumps(definitions(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render())
