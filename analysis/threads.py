"""One BLAS thread for the package's small dense problems, in every public entry point.

The matrices here are small (thousands of covariate patterns by tens of columns, factorised
thousands of times in a selection): OpenBLAS threads buy nothing on them, and on a busy machine
threads spinning against other processes made the public ``stepwise`` 7x slower (0.42 s against
0.059 s for the same selection). A fixed thread count also makes sums bit-identical between
machines with different core counts. ``one_blas_thread`` wraps a function so that it runs under
``threadpoolctl``'s limit of one BLAS thread; nested calls are cheap (about 15 microseconds: the
controller that finds the loaded BLAS libraries is built once, after numpy's and scipy's BLAS
builds are both loaded).
"""
from __future__ import annotations

import functools

_CONTROLLER = None


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        import numpy  # noqa: F401 - load numpy's and scipy's BLAS builds before looking for them
        import scipy.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def blas_single_thread():
    """Context manager: BLAS limited to one thread inside it (``threadpoolctl``)."""
    return _controller().limit(limits=1, user_api="blas")


def one_blas_thread(func):
    """Decorator: run ``func`` with BLAS limited to one thread (see the module docstring)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with blas_single_thread():
            return func(*args, **kwargs)

    return wrapper
