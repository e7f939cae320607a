"""The cluster executor: the engine's partitions on a `dask.distributed` cluster.

`connect(address)` gives a `Cluster`, an `Executor` like `Serial` and `Threads`:

- `tcp://host:8786` (any `scheme://host:port`): a running Dask scheduler; nothing is started
  or stopped, only this client connects (a short timeout: a wrong address fails quickly);
- `local:N`: a `LocalCluster` of N worker processes (one thread each) on this machine, started
  now and closed with the `Cluster` (use it as a context manager).

`map_merge(fn, n, merge)` ships `fn` once (a task of its own, so a restarted worker can get it
again; above `SHIP_AS_TASK_BYTES`, copied to every worker instead of through the scheduler) and
submits one task per partition: a task reads its partition itself (the dataset's path and
manifest travel inside `fn`, never the events). Neighbouring results merge in groups
of `fan_in` on the workers, level by level, until one is left: only that final partial comes
back, and `merge` is associative, so the answer is the one `Serial` gives. Every task may run
`retries + 1` times; a task whose worker dies is run again by Dask as well, until its workers
died `distributed.scheduler.allowed-failures` + 1 times (Dask's setting, 3 unless configured:
the tasks that shared a worker with the one that crashed it count a death too, so a lower
value would blame partitions that did nothing wrong). A partition that
still fails fails the run, its index, file and cause named: the original error type when it is
journeyminer's (a corrupt partition file is bad input), else `InternalError`. Discovery's
tasks only read; ingest's (`ingest.pipeline`) write only into the ingest's temporary folder,
which goes when the ingest ends, however it ends.

`dask[distributed]` is an optional extra (`pip install 'journeyminer[dask]'`), imported only
here and only when a cluster is asked for.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..errors import InputError, InternalError, JourneyminerError
from .executors import Done, Label

if TYPE_CHECKING:
    from distributed import Client, Future

T = TypeVar("T")

EXTRA = "pip install 'journeyminer[dask]'"
CONNECT_TIMEOUT_S = 5.0  # a scheduler that does not answer in this long is a wrong address
RETRIES = 1  # each task runs at most twice on errors (a lost worker is retried by Dask too)
FAN_IN = 4  # partials merged per merge task
SHIP_AS_TASK_BYTES = 1 << 20  # a larger `fn` is copied to every worker instead
ADDRESS_FORM = "tcp://HOST:PORT (a running Dask scheduler) or local:N (N worker processes)"

_LOCAL = re.compile(r"local:(\d+)")
_REMOTE = re.compile(r"[a-z][a-z0-9+.-]*://\S+")


@dataclass(frozen=True)
class ClusterAddress:
    """A parsed `--cluster` address: a scheduler to connect to, or a local cluster to start."""

    text: str
    local_workers: int | None  # N of local:N; None for a scheduler's address

    @property
    def is_local(self) -> bool:
        """Whether this starts a LocalCluster (local:N)."""
        return self.local_workers is not None


def parse_address(text: str) -> ClusterAddress:
    """`tcp://host:port` (any scheme) or `local:N` (N >= 1); InputError naming `text` else."""
    text = text.strip()
    if m := _LOCAL.fullmatch(text):
        workers = int(m.group(1))
        if workers >= 1:
            return ClusterAddress(text, workers)
    elif _REMOTE.fullmatch(text):
        return ClusterAddress(text, None)
    raise InputError(
        f"not a cluster address: {text!r}",
        column="--cluster",
        expected=ADDRESS_FORM,
        found=text,
    )


def require_dask() -> None:
    """InputError saying which extra to install unless `dask.distributed` imports."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"running on a cluster needs dask.distributed, which is not installed ({exc.msg}); "
            f"install it with: {EXTRA}",
            column="--cluster",
            expected="the dask extra: " + EXTRA,
        ) from None


def check_address(text: str) -> ClusterAddress:
    """The parsed address, after checking that the dask extra is installed (nothing started)."""
    address = parse_address(text)
    require_dask()
    return address


def connect(address: str, *, timeout: float | None = None) -> Cluster:
    """A `Cluster` executor on `address` (`tcp://host:port` or `local:N`); close it when done
    (or use it in a `with` block): a local cluster's processes stop then. InputError naming
    the address when nothing answers there within `timeout` seconds (`CONNECT_TIMEOUT_S`)."""
    parsed = check_address(address)
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    from distributed import Client, LocalCluster

    if parsed.local_workers is not None:
        local = LocalCluster(
            n_workers=parsed.local_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no dashboard; its HTTP server on any free port:
            scheduler_kwargs={"dashboard_address": ":0"},  # (not 8787, maybe taken already)
            silence_logs=logging.CRITICAL,  # a failed task is reported once, by the client
        )
        try:
            return Cluster(Client(local, set_as_default=False), parsed.text, local)
        except BaseException:
            local.close()
            raise
    try:
        client = Client(parsed.text, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"no Dask scheduler answered at {parsed.text} within {timeout:g} s "
            f"({type(exc).__name__}: {exc})",
            column="--cluster",
            expected="the address of a running scheduler (dask scheduler prints it)",
            found=parsed.text,
        ) from None
    return Cluster(client, parsed.text)


class Cluster:
    """An `Executor` on a Dask cluster: one task per partition, a tree of merges on the
    workers, only the final result back to this process."""

    remote: ClassVar[bool] = True

    def __init__(
        self,
        client: Client,
        address: str,
        local: Any = None,
        *,
        retries: int = RETRIES,
        fan_in: int = FAN_IN,
    ) -> None:
        if fan_in < 2:
            raise ValueError(f"fan_in must be at least 2, found {fan_in}")
        self.client, self.address, self._local = client, address, local
        self.retries, self.fan_in = retries, fan_in

    def __repr__(self) -> str:
        return f"Cluster({self.address!r})"

    @property
    def n_workers(self) -> int:
        """Workers the scheduler knows now."""
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def map(
        self,
        fn: Callable[[int], T],
        n: int,
        *,
        done: Done | None = None,
        label: Label | None = None,
    ) -> list[T]:
        """fn(0), ..., fn(n - 1) on the workers; every result comes back, in order."""
        if n == 0:
            return []
        run = _Run(self, label)
        leaves = run.leaves(fn, n)
        run.futures += leaves
        run.wait(list(leaves), done)
        return [run.result(f, run.index[str(f.key)]) for f in leaves]

    def map_merge(
        self,
        fn: Callable[[int], T],
        n: int,
        merge: Callable[[Sequence[T]], T],
        *,
        done: Done | None = None,
        label: Label | None = None,
    ) -> T:
        """merge of fn(0), ..., fn(n - 1): merged on the workers in a tree of `fan_in` groups."""
        if n == 0:
            return merge([])
        run = _Run(self, label)
        leaves = run.leaves(fn, n)
        level = list(leaves)
        depth = 0
        while len(level) > 1:
            depth += 1
            level = [
                self.client.submit(
                    _merge_group,
                    merge,
                    *level[k : k + self.fan_in],
                    key=f"{run.prefix}-merge-{depth}-{k // self.fan_in}",
                    retries=self.retries,
                    pure=False,
                )
                for k in range(0, len(level), self.fan_in)
            ]
        top = level[0]
        run.futures.append(top)  # cancelling it releases the tree below it (no one wants it)
        del level
        # `wait` lets go of each leaf as it finishes: no reference here keeps a partial on its
        # worker once the merge above it has it.
        run.wait(leaves, done)
        return run.result(top, None)

    def close(self) -> None:
        """Disconnect; a local cluster's worker processes stop."""
        self.client.close()
        if self._local is not None:
            self._local.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Run:
    """One map over the partitions: its task keys, waiting and the errors it names."""

    def __init__(self, cluster: Cluster, label: Label | None) -> None:
        self.cluster, self.label = cluster, label
        self.prefix = f"journeyminer-{uuid.uuid4().hex[:12]}"
        self.index: dict[str, int] = {}
        # What a failure cancels: the results this client waits for, none with dependents
        # (the scheduler cancels a task's dependents with it and expects them wanted).
        self.futures: list[Future] = []
        self.shipped: Future | None = None

    def leaves(self, fn: Callable[[int], T], n: int) -> list[Future]:
        import cloudpickle

        client, retries = self.cluster.client, self.cluster.retries
        # `fn` (the parts' description, the plans) travels once. Small, as a task of its own:
        # a worker that restarts fetches or recomputes it like any other input. Large (a
        # plan's variant index), straight to every worker (not through the scheduler): a
        # restarted worker copies it from another one.
        if len(cloudpickle.dumps(fn)) <= SHIP_AS_TASK_BYTES:
            shipped = client.submit(_same, fn, key=f"{self.prefix}-fn", pure=False, retries=retries)
        else:
            shipped = client.scatter(fn, broadcast=True, hash=False)
        keys = [f"{self.prefix}-part-{i}" for i in range(n)]
        futures = [
            client.submit(_call, shipped, i, key=key, retries=retries, pure=False)
            for i, key in enumerate(keys)
        ]
        self.index = {key: i for i, key in enumerate(keys)}
        self.shipped = shipped  # held while the run lasts; released with it, never cancelled
        return futures

    def wait(self, leaves: list[Future], done: Done | None) -> None:
        """Until every leaf is finished, telling `done`; the first failure fails the run.
        `leaves` is emptied: each leaf is let go of as it finishes."""
        from distributed import as_completed

        n = len(leaves)
        pending = as_completed(leaves, loop=self.cluster.client.loop)
        leaves.clear()
        for k, future in enumerate(pending, start=1):
            if future.status != "finished":
                self.result(future, self.index.get(str(future.key)))
            if done is not None:
                done(k, n)

    def result(self, future: Future, part: int | None) -> Any:
        try:
            return future.result()
        except BaseException as exc:
            self.cancel()
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise self.failure(exc, part) from None

    def cancel(self) -> None:
        try:
            self.cluster.client.cancel(self.futures)
        except Exception:  # the client may be gone already; the error at hand matters more
            logging.getLogger(__name__).debug("cancel failed", exc_info=True)

    def failure(self, exc: BaseException, part: int | None) -> JourneyminerError:
        """The error the run fails with: which partition (or the merge), and why."""
        killed = type(exc).__name__ == "KilledWorker"
        if killed:
            # The task the scheduler gave up on (it may be a merge, or another partition).
            part = self.index.get(str(getattr(exc, "task", "")), None)
            tries = int(getattr(exc, "allowed_failures", 0)) + 1
            cause = (
                "the worker running it died every time (this partition crashed it, or another"
                " task on the same worker did)"
            )
        else:
            tries = self.cluster.retries + 1
            cause = (
                str(exc) if isinstance(exc, JourneyminerError) else f"{type(exc).__name__}: {exc}"
            )
        if part is None:
            where = "merging the partitions' results"
        else:
            where = self.label(part) if self.label is not None else f"partition {part}"
        message = (
            f"{where} failed on the cluster ({self.cluster.address}) after {tries} tries: {cause}"
        )
        extra = {"partition": part, "cluster": self.cluster.address}
        if isinstance(exc, JourneyminerError):
            # Keep its type (and exit code): a corrupt partition file stays bad input.
            return dataclasses.replace(exc, message=message, extra={**exc.extra, **extra})
        return InternalError(message, extra=extra)


def _same(value: T) -> T:
    return value


def _call(fn: Callable[[int], T], i: int) -> T:
    return fn(i)


def _merge_group(merge: Callable[[Sequence[T]], T], *parts: T) -> T:
    return merge(list(parts))
