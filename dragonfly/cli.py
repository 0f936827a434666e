"""`dragonfly` command line (placeholder until the launcher lands)."""
def main() -> None:
    raise SystemExit("not yet")
