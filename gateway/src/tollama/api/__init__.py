"""HTTP routes of the gateway (thin: decode, call a service, encode)."""
