"""Synthetic data: the seeded omnichannel scenario, its generator and the truth it writes."""
