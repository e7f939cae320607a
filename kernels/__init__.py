"""numba kernels over plain numpy arrays: no polars, no I/O, no domain objects."""

import sys


def _import_numba_without_blas_probe() -> None:
    """Import numba without its BLAS probe: on import, `numba.np.arraymath` imports
    scipy.linalg (0.3-0.5 s) only to learn whether `np.dot` can be compiled. No kernel here
    uses BLAS, and every CLI command pays that import, so scipy.linalg is hidden for the
    probe and given back at once (a later `import scipy.linalg` works as usual)."""
    if "numba" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules["scipy.linalg"]


_import_numba_without_blas_probe()
