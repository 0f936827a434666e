"""Billing on the control plane: settlement of usage events, the Redis credit view, checks."""
