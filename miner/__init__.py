"""Domain layer: event logs, sources, stitching, discovery, designed maps, comparison."""
