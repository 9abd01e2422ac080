"""Port validation harness (filled below)."""
