"""Development tools shipped with the package (fixtures for tests and benchmarks)."""
