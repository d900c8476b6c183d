"""sigsync benchmarks: `python -m bench --help` (run from the repository root)."""
