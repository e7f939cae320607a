"""Designed journey maps: the model, its files (TOML/JSON/YAML), templates and drafts."""
