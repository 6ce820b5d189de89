"""Helpers and upgrade snapshots for the `aiapp update` / `aiapp status` tests (issue 4)."""
