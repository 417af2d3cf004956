"""plugwiz benchmarks: scripts that print their figures (run by hand; CI runs a --quick smoke)."""
