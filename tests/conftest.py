"""Shared pytest configuration.

pytest puts this folder on ``sys.path`` (rootdir conftest, no ``__init__.py``), so test
modules import shared helpers such as :mod:`hubserver` (a local model hub) by name.
"""
