"""Admission probes, their schedule and contracts (README "Admission", "Contracts")."""
