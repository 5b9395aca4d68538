"""tollama family adapter for IBM Granite TinyTimeMixer (granite-tsfm)."""
