"""Batch runs: `journeyminer run JOB.toml` reads its job file, appends new files and refreshes analyses."""
