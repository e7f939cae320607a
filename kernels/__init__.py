"""numba kernels over plain numpy arrays: no polars, no I/O, no domain objects."""
