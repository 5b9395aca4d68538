"""tollama family adapter for Datadog Toto 2.0 (``toto-2``): not written yet."""
