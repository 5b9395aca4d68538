"""tollama family adapter for Datadog Toto (``toto-ts``)."""
