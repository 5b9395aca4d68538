"""tollama family adapter for NX-AI TiRex-2 (``tirex-2``)."""
