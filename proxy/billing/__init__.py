"""Metering, reservation and usage shipping on the proxy (issue 5)."""
