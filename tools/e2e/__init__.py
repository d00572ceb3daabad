"""The local end-to-end harness."""
