"""Example ports used by the conformance tests (importable as ``tests.ports.<name>``)."""
