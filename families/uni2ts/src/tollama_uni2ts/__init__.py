"""tollama worker adapter for Salesforce uni2ts (Moirai 1.1, Moirai 2.0)."""
