"""tollama family worker for Chronos, Chronos-Bolt and Chronos-2 (``chronos-forecasting``)."""
