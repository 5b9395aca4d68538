"""tollama for agents: a Model Context Protocol server (``tollama mcp``) and the tool table it serves."""
