"""The stages on a Dask cluster: every joblib ``Parallel`` call of a stage runs as Dask tasks.

The stages parallelise through joblib only (per-recording featurisation, the stack's fold and
grid fits, the meta-learners), so switching joblib's backend to Dask moves all of that work
to the cluster's workers, with no other change to the code and the same results: every task
computes what it would compute in a local worker, and the results are gathered in order.

``address`` is a scheduler address (``tcp://host:8786``, as printed by ``dask scheduler`` or
given by dask-jobqueue or a Kubernetes operator) or ``"local"``: a
:class:`distributed.LocalCluster` of ``n_workers`` single-threaded worker processes on this
machine, started and stopped with the stage.

joblib runs ``Parallel(n_jobs=1)`` in the calling process whatever the backend, so a stage's
``n_jobs`` must be above 1 (or -1: every worker of the cluster) for work to reach the cluster,
and so must the cluster's number of worker threads; ``emo-gbm --dask`` uses -1 when
``--n-jobs`` is left at 1.
"""

import contextlib

import joblib


class ClusterError(RuntimeError):
    """The Dask cluster could not be reached, or lost a worker beyond recovery."""


@contextlib.contextmanager
def dask_backend(address, n_workers=2):
    """Run the joblib ``Parallel`` calls inside the block on a Dask cluster.

    Parameters
    ----------
    address : str
        A scheduler address, or ``"local"`` for a :class:`distributed.LocalCluster`.
    n_workers : int, default=2
        Worker processes of a local cluster (ignored for an address).

    Yields
    ------
    client : distributed.Client

    Raises
    ------
    ClusterError
        When ``dask[distributed]`` is not installed, the scheduler cannot be reached, or a task
        failed because workers kept dying (Dask retries a task whose worker died, up to
        ``distributed.scheduler.allowed-failures`` times).

    Examples
    --------
    >>> from joblib import Parallel, delayed
    >>> with dask_backend("local", n_workers=2):  # doctest: +SKIP
    ...     Parallel(n_jobs=-1)(delayed(abs)(-i) for i in range(3))
    [0, 1, 2]
    """
    try:
        from distributed import Client, LocalCluster
        from distributed.scheduler import KilledWorker
    except ImportError as exc:
        raise ClusterError("--dask needs Dask: pip install 'emo_gbm[dask]'") from exc
    with contextlib.ExitStack() as stack:
        try:
            if address == "local":
                cluster = stack.enter_context(LocalCluster(
                    n_workers=max(1, int(n_workers)), threads_per_worker=1, processes=True, dashboard_address=None,
                ))
                client = stack.enter_context(Client(cluster))
            else:
                client = stack.enter_context(Client(address, timeout="10s"))
        except OSError as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        try:
            with joblib.parallel_config(backend="dask"):
                yield client
        except KilledWorker as exc:
            raise ClusterError(f"Dask workers kept dying while running a task ({exc}); nothing was written") from exc
