"""Development tools (benchmarks, demo data) kept out of the product apps; see devtools/apps.py."""
