"""One BLAS thread for the package's small dense problems, in every public entry point.

The matrices here are small (thousands of covariate patterns by tens of columns, factorised
thousands of times in a selection): OpenBLAS threads buy nothing on them, and on a busy machine
threads spinning against other processes made the public ``stepwise`` 7x slower (0.42 s against
0.059 s for the same selection). A fixed thread count also makes sums bit-identical between
machines with different core counts. ``one_blas_thread`` wraps a function so that it runs under
``threadpoolctl``'s limit of one BLAS thread; nested calls are cheap (about 15 microseconds: the
controller that finds the loaded BLAS libraries is built once, after numpy's and scipy's BLAS
builds are both loaded).

``Beside`` runs one job in a forked worker beside the main process (the run's specification checks while
its performance measures are computed): the main process is single-threaded, the machine has a core more.
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


# ----------------------------------------------------------------------------- one job beside the main process

#: the calls of the running ``Beside`` objects, inherited by their forked workers (which receive only a key:
#: the inputs -- a fit on 500k patterns -- are not pickled; only the result comes back pickled)
_CALLS: dict[int, tuple] = {}


def _run_call(key: int):
    function, args = _CALLS[key]
    return function(*args)


class Beside:
    """``function(*args)`` in one forked worker process while the caller goes on; ``result()`` waits for it
    (and re-raises what it raised). Inline, at creation, when ``enabled`` is false or the platform cannot
    fork; inline too, at ``result()``, if the worker died. The result is the same either way: the worker
    is a copy of the caller at creation (its BLAS limit included), so it computes on the same objects.
    For independent pure work of a run on two cores (the specification checks beside the performance
    measures): the caller's own work is single-threaded."""

    def __init__(self, function, *args, enabled: bool = True):
        import multiprocessing

        self._call, self._pool, self._future, self._key = (function, args), None, None, id(self)
        if not enabled or "fork" not in multiprocessing.get_all_start_methods():
            self._value = function(*args)
            return
        from concurrent.futures import ProcessPoolExecutor

        _CALLS[self._key] = self._call
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        self._future = self._pool.submit(_run_call, self._key)

    def result(self):
        if self._pool is None:
            return self._value
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._future.result()
        except BrokenProcessPool:            # the worker died (killed, out of memory): do it here
            function, args = self._call
            return function(*args)
        finally:
            self.close()

    def close(self) -> None:
        """Let go of the worker without waiting for its result (the caller failed meanwhile)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            _CALLS.pop(self._key, None)
