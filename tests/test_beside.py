"""analysis.threads.Beside: one job in a forked worker beside the main process (the run's specification checks
beside its performance measures). The worker must give what the call gives in the process itself, re-raise
what it raises, and not be needed: disabled, the call runs inline. The pipeline's own equality (a run with the
worker and one without give the same bytes) is tested in tests/test_cli.py."""
import os

import numpy as np
import pytest

from analysis.errors import ModelError
from analysis.threads import Beside


def _work(frame_like, scale):
    return {"sum": float(np.sum(frame_like) * scale), "pid": os.getpid()}


def _fails(message):
    raise ModelError(message)


def test_the_worker_computes_what_the_caller_would():
    data = np.arange(1_000_000, dtype=float)      # inherited by the fork, not pickled
    job = Beside(_work, data, 0.5)
    got = job.result()
    assert got["sum"] == _work(data, 0.5)["sum"]
    assert got["pid"] != os.getpid()               # it did run in another process
    inline = Beside(_work, data, 0.5, enabled=False).result()
    assert inline["sum"] == got["sum"] and inline["pid"] == os.getpid()


def test_what_the_worker_raises_reaches_the_caller():
    with pytest.raises(ModelError, match="no finite maximum"):
        Beside(_fails, "no finite maximum").result()
    job = Beside(_work, np.ones(3), 1.0)
    job.close()                                    # the caller failed meanwhile: nothing is waited for
