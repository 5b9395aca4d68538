"""The tollama worker kit: everything a model family shares.

- :mod:`tollama_kit.protocol` — worker protocol v1 wire types (imports only msgspec;
  the gateway imports it too).
- :mod:`tollama_kit.adapter` — the ``Adapter`` protocol a family implements, and the
  numpy-level batch/result types it sees.
- :mod:`tollama_kit.server` — the worker HTTP app that serves an adapter.
- :mod:`tollama_kit.contract` — the contract test suite every family runs against itself.
"""
