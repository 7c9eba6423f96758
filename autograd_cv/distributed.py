"""Data-parallel training over MPI: the same step on N processes, gradients averaged by allreduce.

Start a script on N processes with `mpiexec -n N python script.py` (or
`mpiexec -n N autograd-cv train ...`). MPI does all the talking, through `mpi4py`
(`pip install 'autograd-cv[mpi]'` brings mpi4py and the MPICH wheel; a system MPI works
too). Without mpiexec every function here works on a world of one process and MPI is
never loaded.

Every collective waits with a deadline (`init(timeout=...)` or `AUTOGRAD_CV_MPI_TIMEOUT`,
300 s by default): a rank that waits longer prints which collective hung and aborts every
rank, instead of hanging forever when another rank died or stopped answering. A rank
killed by a signal makes mpiexec stop the others; a rank that dies of an uncaught Python
exception aborts them itself.

Arrays are NumPy arrays in host memory. There is no GPU backend yet; once there is, GPU
gradients will be staged through host memory (copied into the host bucket) before MPI
sees them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd_cv.autograd import hooks
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor

DEFAULT_TIMEOUT = 300.0
#: environment variables that launchers set on every rank (MPICH/Hydra, Open MPI, PMIx)
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")


@dataclass
class World:
    """The processes of this run: this one's rank, how many there are, and MPI's handle."""

    rank: int
    size: int
    comm: Any  # mpi4py.MPI.Intracomm, or None for a world of one without MPI
    timeout: float


_world: World | None = None


def launched_by_mpiexec() -> bool:
    """True when an MPI launcher started this process (its environment says so)."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def init(timeout: float | None = None) -> World:
    """Join the MPI world this process was started in; a world of 1 without mpiexec."""
    global _world
    if timeout is not None and timeout <= 0:
        raise ValueError(f"distributed.init: timeout must be positive, got {timeout}")
    if _world is not None:  # joined already; only a given timeout changes anything
        if timeout is not None:
            _world.timeout = timeout
        return _world
    if timeout is None:
        timeout = float(os.environ.get("AUTOGRAD_CV_MPI_TIMEOUT", DEFAULT_TIMEOUT))
    if not launched_by_mpiexec():
        _world = World(rank=0, size=1, comm=None, timeout=timeout)
        return _world
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError(
            "distributed.init: this process was started by mpiexec but mpi4py is not "
            "installed; pip install 'autograd-cv[mpi]'"
        ) from None
    comm = MPI.COMM_WORLD
    comm.Set_errhandler(MPI.ERRORS_RETURN)  # errors become exceptions we can explain
    _world = World(rank=comm.Get_rank(), size=comm.Get_size(), comm=comm, timeout=timeout)
    if _world.size > 1:
        _abort_on_uncaught_exceptions()
    return _world


def _abort_on_uncaught_exceptions() -> None:
    """A rank that dies of an exception takes the others down, instead of leaving them waiting."""
    previous = sys.excepthook

    def report_and_abort(kind: type, value: BaseException, traceback: Any) -> None:
        previous(kind, value, traceback)
        sys.stderr.flush()
        _abort("stopped by", f"an uncaught {kind.__name__}")

    sys.excepthook = report_and_abort


def world() -> World:
    """This run's `World`, joining it first if `init` was not called."""
    return _world if _world is not None else init()


def rank() -> int:
    """This process's rank, 0 to world_size() - 1."""
    return world().rank


def world_size() -> int:
    """How many processes take part (1 without mpiexec)."""
    return world().size


def is_main_process() -> bool:
    """True on rank 0, the one that prints and writes files."""
    return world().rank == 0


def _abort(what: str, reason: str) -> None:
    """Say why on stderr, then stop every rank (MPI_Abort): no rank is left waiting."""
    current = world()
    print(
        f"autograd_cv.distributed: rank {current.rank} of {current.size}: {what} {reason}; "
        "stopping all ranks",
        file=sys.stderr,
        flush=True,
    )
    # mpiexec forwards each rank's output asynchronously and stops forwarding when the job
    # is torn down: give it a moment to pass these last lines on before tearing down.
    time.sleep(0.5)
    current.comm.Abort(1)
    os._exit(1)  # Abort does not return; this is for MPIs where it only asks


def _wait(requests: Sequence[Any], what: str) -> None:
    """Wait for non-blocking MPI requests, aborting every rank after the world's timeout."""
    from mpi4py import MPI

    current = world()
    try:
        if MPI.Request.Testall(list(requests)):
            return
        deadline = time.monotonic() + current.timeout
        pause = 0.0
        while not MPI.Request.Testall(list(requests)):
            if time.monotonic() > deadline:
                _abort(
                    what,
                    f"got no answer from the other ranks in {current.timeout:g} s "
                    "(one probably died or hung)",
                )
            time.sleep(pause)  # spin at first; back off to 1 ms once the wait is long
            pause = min(max(pause * 2, 1e-5), 1e-3)
    except MPI.Exception as error:
        _abort(what, f"failed in MPI: {error.Get_error_string()}")


def _start(what: str, start: Any, *args: Any) -> Any:
    """Call a non-blocking MPI function, turning an MPI error into a clear abort."""
    from mpi4py import MPI

    try:
        return start(*args)
    except MPI.Exception as error:
        _abort(what, f"failed in MPI: {error.Get_error_string()}")


_OPS = ("sum", "mean", "max", "min")


def _as_buffer(value: Any, where: str) -> tuple[np.ndarray, Any]:
    """The contiguous ndarray MPI reads and writes, and what to hand back to the caller."""
    if isinstance(value, Tensor):
        return value.data, value
    if isinstance(value, np.ndarray):
        return value, value
    array = np.array(value)
    if array.dtype == object:
        raise TypeError(f"{where}: expected an ndarray, a Tensor or numbers, got {type(value)}")
    return array, array


def all_reduce(array: Any, op: str = "sum") -> Any:
    """Combine `array` across ranks in place ("sum", "mean", "max", "min") and return it.

    ndarrays and Tensors are overwritten with the result on every rank (as in PyTorch);
    Python numbers and lists give a new array.
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(_OPS)}, got {op!r}")
    buffer, result = _as_buffer(array, "all_reduce")
    if op == "mean" and buffer.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: op='mean' needs a floating-point array, got {buffer.dtype}")
    current = world()
    if current.size == 1:
        return result
    from mpi4py import MPI

    work = buffer if buffer.flags.c_contiguous and buffer.flags.writeable else buffer.copy()
    mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
    request = _start("all_reduce", current.comm.Iallreduce, MPI.IN_PLACE, work, mpi_op)
    _wait([request], f"all_reduce of {work.size} values")
    if op == "mean":
        work /= current.size
    if work is not buffer:
        if not buffer.flags.writeable:
            return work
        buffer[...] = work
    if isinstance(result, Tensor):
        result.bump_version()
    return result


def broadcast(array: Any, root: int = 0) -> Any:
    """Overwrite `array` on every rank with rank `root`'s copy, in place, and return it."""
    buffer, result = _as_buffer(array, "broadcast")
    current = world()
    if not 0 <= root < current.size:
        raise ValueError(f"broadcast: root must be in [0, {current.size}), got {root}")
    if current.size == 1:
        return result
    work = buffer if buffer.flags.c_contiguous and buffer.flags.writeable else buffer.copy()
    request = _start("broadcast", current.comm.Ibcast, work, root)
    _wait([request], f"broadcast of {work.size} values from rank {root}")
    if work is not buffer:
        buffer[...] = work
    if isinstance(result, Tensor):
        result.bump_version()
    return result


def barrier() -> None:
    """Wait until every rank has reached this call."""
    current = world()
    if current.size > 1:
        _wait([_start("barrier", current.comm.Ibarrier)], "barrier")


# ----- DistributedDataParallel ------------------------------------------------------------
class _Bucket:
    """Parameters whose gradients travel together in one flat buffer and one allreduce."""

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.buffer = np.empty(int(self.offsets[-1]), dtype=params[0].data.dtype)
        self.ready = 0
        self.request: Any = None

    def pack(self) -> None:
        """Copy the parameters' gradients into the buffer (zeros where a gradient is None)."""
        for param, start, stop in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            if param.grad is None:
                self.buffer[start:stop] = 0
            else:
                self.buffer[start:stop] = param.grad.data.reshape(-1)

    def unpack(self, scale: float) -> None:
        """Write the averaged buffer back into every parameter's `.grad`."""
        self.buffer *= scale
        for param, start, stop in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            averaged = self.buffer[start:stop].reshape(param.data.shape)
            if param.grad is None:
                param.grad = Tensor(averaged.copy())
            else:
                param.grad.data = averaged.copy()


def _make_buckets(params: list[Tensor], cap_bytes: int) -> list[_Bucket]:
    """Split `params` (in the order their gradients become ready) into buckets of <= cap_bytes.

    A parameter larger than the cap gets a bucket of its own; a bucket holds one dtype.
    """
    buckets: list[_Bucket] = []
    current: list[Tensor] = []
    size = 0
    for param in params:
        nbytes = param.data.nbytes
        if current and (size + nbytes > cap_bytes or param.dtype != current[0].dtype):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append(param)
        size += nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets


class DistributedDataParallel(Module):
    """Wrap a model so that each rank's backward leaves the gradient averaged over all ranks.

    At wrap time rank 0's parameters and buffers are copied to every rank. During backward,
    gradients are packed into buckets of about `bucket_cap_mb` megabytes, last layer first;
    a bucket's allreduce starts (non-blocking) as soon as all its gradients are final, while
    the backward pass goes on through the earlier layers, and the backward returns once all
    buckets are averaged. Inside `no_sync()` gradients only accumulate locally; the next
    backward outside it averages the accumulated sum. Each rank keeps its own batch-norm
    statistics. A parameter that gets no gradient on a rank counts as zero there.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 4.0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module)}")
        if bucket_cap_mb <= 0:
            raise ValueError(
                f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb}"
            )
        self.module = module
        current = world()
        for tensor in list(module.parameters()) + list(module.buffers()):
            broadcast(tensor, root=0)
        params = [p for p in module.parameters() if p.requires_grad]
        # Backward reaches the last layers first; bucket them first so they leave first.
        self._buckets = _make_buckets(params[::-1], int(bucket_cap_mb * 2**20))
        self._bucket_of = {
            id(param): index
            for index, bucket in enumerate(self._buckets)
            for param in bucket.params
        }
        self._sync = True
        self._next = 0  # the next bucket to launch: buckets leave in index order on every rank
        self._active = False
        #: buckets launched during the last backward before its last gradient was ready
        self.buckets_overlapped = 0
        self._handles = []
        if current.size > 1:
            self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped module's forward."""
        return self.module(*args, **kwargs)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Accumulate gradients locally; the first backward after the block averages them."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    def _grad_ready(self, param: Tensor) -> None:
        if not self._sync:
            return
        if not self._active:
            self._active = True
            self.buckets_overlapped = 0
            hooks.queue_callback(self._finish)
        bucket = self._buckets[self._bucket_of[id(param)]]
        bucket.ready += 1
        self._launch_ready(overlapped=True)

    def _launch(self, bucket: _Bucket) -> None:
        from mpi4py import MPI

        bucket.pack()
        bucket.request = _start(
            "DistributedDataParallel gradient allreduce",
            world().comm.Iallreduce, MPI.IN_PLACE, bucket.buffer, MPI.SUM,
        )  # fmt: skip

    def _launch_ready(self, overlapped: bool) -> None:
        """Start every bucket whose gradients are all final, in bucket order."""
        from mpi4py import MPI

        while self._next < len(self._buckets):
            bucket = self._buckets[self._next]
            if bucket.ready < len(bucket.params):
                break
            self._launch(bucket)
            self._next += 1
            self.buckets_overlapped += overlapped
        # MPI moves data forward only inside its calls; a test lets earlier buckets progress.
        launched = [b.request for b in self._buckets[: self._next]]
        if launched:
            MPI.Request.Testall(launched)

    def _finish(self) -> None:
        """After backward: launch what is left (unused parameters count as zero), then wait."""
        for bucket in self._buckets[self._next :]:
            bucket.ready = len(bucket.params)
        self._launch_ready(overlapped=False)
        _wait([b.request for b in self._buckets], "DistributedDataParallel gradient allreduce")
        scale = 1.0 / world().size
        for bucket in self._buckets:
            bucket.unpack(scale)
            bucket.ready = 0
            bucket.request = None
        self._next = 0
        self._active = False

    def extra_repr(self) -> str:
        return f"world_size={world().size}, buckets={len(self._buckets)}"


# ----- DistributedSampler -----------------------------------------------------------------
class DistributedSampler:
    """This rank's share of a dataset's indices: every `world_size`-th index of one order.

    The order is a permutation drawn from `(seed, epoch)` (the same one `DataLoader(shuffle=True,
    seed=seed)` uses), so with per-rank batches of B / N, the N ranks' batches together are
    exactly the single-process batches of B. Without `drop_last` the order is padded with its
    first indices to a multiple of the world size; with it, the tail is dropped.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        num_replicas = world_size() if num_replicas is None else int(num_replicas)
        rank = world().rank if rank is None else int(rank)
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(
                f"DistributedSampler: need 0 <= rank < num_replicas, got rank={rank}, "
                f"num_replicas={num_replicas}"
            )
        if seed < 0:
            raise ValueError(f"DistributedSampler: seed must be non-negative, got {seed}")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use epoch `epoch`'s order from the next iteration on."""
        self.epoch = int(epoch)

    def _total(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n - n % self.num_replicas
        return -(-n // self.num_replicas) * self.num_replicas

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, in order."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n)
        total = self._total()
        if total > n:
            order = np.resize(order, total)  # repeats the order from its start
        return order[:total][self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self._total() // self.num_replicas
