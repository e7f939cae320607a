"""Ingest: read sources (CSV, Parquet, JSON lines, XES, OCEL), map their columns, stitch customers into journeys."""
