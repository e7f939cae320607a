"""The engine: analyses as partial -> merge -> finish over the partitions of a log.

- `parts`: what a log's partitions are (`Parts`), an in-memory log split by case hash.
- `moments`: mergeable per-group counts, exact sums, minima, maxima and exact quantiles.
- `executors`: run a function over partitions, serially or on threads.
- `discovery`: the DFG, performance DFG, variants, service times and journey statistics.
"""
