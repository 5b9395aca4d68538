"""Evaluation: fev's metrics in numpy, rolling-origin backtests, the leaderboard, ``model: "auto"``."""
