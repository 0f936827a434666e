"""Credentials: password hashing, login tokens, and who is calling (principals and scopes)."""
