"""tollama family worker for Google TimesFM 2.5 (see docs/families/timesfm.md)."""
