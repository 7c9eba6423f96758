"""One thread pool for the kernels: split the batch (or a one-pass kernel's rows) across it.

OpenBLAS's worker threads busy-wait for a long while after every multi-threaded GEMM. A
thread of ours that then needs that core (a conv's second half, a Numba kernel) shares it
with a spinner and stalls for scheduler ticks: in a LeNet-5 training step the convolutions
took twice their stand-alone time after the linear layers' GEMMs had woken OpenBLAS's pool.
So the kernels' GEMMs run with BLAS on one thread (mid-sized matmuls, which gain most from
BLAS's own threads, keep them; see `matmul`), and the parallelism comes from splitting the
work into as many parts as BLAS has threads, one part per thread of this pool. The count
follows BLAS's, so `autograd_cv.threads.ThreadBudget` (or threadpoolctl) setting it to 1
keeps everything on the calling thread.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: Calls with fewer multiply-adds than this stay on the calling thread.
SPLIT_MIN_WORK = 2_000_000

#: One-pass, memory-bound kernels (pooling, batch norm, relu) split from this many elements or
#: window taps. A hand-off costs more than a round trip's 7-15 us when the other core has
#: gone idle in between: on a 2-vCPU KVM guest (AMD EPYC Zen 4) waking it took 30-50 us
#: each way, and a split relu gradient or max pool came out slower than one thread below
#: about 1.2 million values and 0.9 million window taps (relu gradient of 300,000 values:
#: 43 us on one thread, 115 split; 1.2 million: 190 and 185; 2.4 million: 604 and 372).
SPLIT_MIN_PASS = 1_000_000

#: Work buffers up to this size are kept for the next call (one per thread, name and dtype).
KEEP_SCRATCH_BYTES = 32 * 2**20

_POOL: list = []  # [task queue, the pid that made it, worker count], made on first use
_POOL_LOCK = threading.Lock()
_IN_SPLIT = threading.local()
_BLAS: list = []
_SCRATCH = threading.local()


def over_batch(
    samples: Callable[[int, int], Any],
    batch: int,
    work: int,
    min_work: int | None = None,
    pin_blas: bool = True,
) -> list:
    """Run ``samples(low, high)`` over ``range(batch)`` in parts, one per BLAS thread.

    Each part runs on its own thread with BLAS on one thread; below ``min_work`` units of
    work (default ``SPLIT_MIN_WORK`` multiply-adds) the whole range runs on the calling
    thread, also with one BLAS thread (waking BLAS's pool for a small GEMM costs more than
    it gives). A batch of one keeps BLAS's own threads. ``pin_blas=False`` leaves BLAS's
    thread count alone, for parts that make no BLAS call (setting and restoring it costs
    about 10 us). Returns the parts' results in batch order.
    """
    blas = blas_pools()
    previous = [pool.num_threads for pool in blas]
    most = max(previous, default=1)
    if most < 2 or batch < 2 or getattr(_IN_SPLIT, "active", False):
        return [samples(0, batch)]  # BLAS on one thread already, or a batch of one
    enough = work >= (SPLIT_MIN_WORK if min_work is None else min_work)
    threads = min(batch, most) if enough else 1
    bounds = [batch * i // threads for i in range(threads + 1)]
    with _OneThread(blas, previous) if pin_blas else nullcontext():
        if threads == 1:
            return [_in_split(samples, 0, batch)]
        replies: queue.SimpleQueue = queue.SimpleQueue()
        done = np.zeros(threads, np.int64)  # set by each worker after its reply (a hint)
        tasks = _workers(threads - 1)
        for i in range(1, threads):
            tasks.put((i, samples, bounds[i], bounds[i + 1], replies, done))
        results: list = [None] * threads
        failure = None
        try:
            results[0] = _in_split(samples, bounds[0], bounds[1])
        except BaseException as error:  # the other parts still write into shared arrays
            failure = error
        _await_parts(done, SPIN_POLLS)  # without the GIL, so the workers can finish
        for _ in range(1, threads):  # wait for every part before returning or raising
            index, ok, value = replies.get()
            results[index] = value
            if not ok and failure is None:
                failure = value
        if failure is not None:
            raise failure
        return results


def over_pass(part: Callable[[int, int], Any], count: int, elements: int) -> list:
    """``part(low, high)`` over ``range(count)`` for a one-pass, memory-bound kernel that
    touches about ``elements`` values: split from ``SPLIT_MIN_PASS`` of them (see over_batch).
    Such kernels make no BLAS call, so BLAS's thread count is left as it is (and a small
    pass runs at once, without reading it: about 5 us less per call)."""
    if elements < SPLIT_MIN_PASS:
        return [part(0, count)]
    return over_batch(part, count, elements, min_work=SPLIT_MIN_PASS, pin_blas=False)


#: GEMMs with fewer multiply-adds than this run with BLAS on one thread (see `matmul`).
THREADED_GEMM_MIN_WORK = 4_000_000

#: Below this many multiply-adds OpenBLAS runs a GEMM on one thread whatever its thread count
#: (its interface gives each thread at least 65536 x 4 of them), so `matmul` calls it as it
#: is: setting and restoring the count cost 9-12 us around a 20 us product (MLP's last layer,
#: 128 x 256 x 10, AMD EPYC Zen 3), three times a step.
BLAS_SERIAL_WORK = 2 * 65536 * 4


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D floats: small on one BLAS thread, mid-sized on BLAS's, big split here.

    A small product (LeNet-5's linear layers) runs on the calling thread with BLAS on one
    thread. A big one (from ``POOL_GEMM_MIN_WORK``) is split into one band of rows, or of
    columns when ``b`` is the wider, per thread of this pool, each with BLAS on one thread,
    as the conv kernels split their batch: BLAS's own threads busy-wait for a long while
    after each threaded GEMM, and a conv's split that came next shared a core with the
    spinner. AlexNetSmall's conv5 backward took 144-162 ms right after fc1's GEMMs on BLAS's
    two threads, 105-110 ms after the same GEMMs split here, and the AlexNetSmall-BN step
    1,309 -> 1,179 ms (alternating processes, per-round ratio 0.90). In between (the MLP's
    784 x 256 layer), BLAS's threads stay: split there, the MLP step took 1.17x as long.
    Anything else (other ranks, array types, mixed dtypes) goes to ``np.matmul`` as it is.
    """
    if not (
        type(a) is np.ndarray
        and type(b) is np.ndarray
        and a.ndim == 2
        and b.ndim == 2
        and a.dtype == b.dtype
        and a.dtype.kind == "f"
        and a.shape[1] == b.shape[0]
    ):
        return np.matmul(a, b)
    rows, columns = a.shape[0], b.shape[1]
    work = rows * a.shape[1] * columns
    if work < BLAS_SERIAL_WORK:  # BLAS keeps it on one thread by itself: no pinning
        return np.matmul(a, b)
    if work < THREADED_GEMM_MIN_WORK:
        with one_blas_thread():
            return np.matmul(a, b)
    if work < POOL_GEMM_MIN_WORK:
        return np.matmul(a, b)
    out = np.empty((rows, columns), a.dtype)
    if rows >= columns:

        def band(low: int, high: int) -> None:
            np.matmul(a[low:high], b, out=out[low:high])

        over_batch(band, rows, work)
    else:

        def band(low: int, high: int) -> None:
            np.matmul(a, b[:, low:high], out=out[:, low:high])

        over_batch(band, columns, work)
    return out


#: GEMMs with at least this many multiply-adds are split over this pool (see `matmul`).
POOL_GEMM_MIN_WORK = 32_000_000

#: np.matmul holds the GIL through a 2-D product with fewer results than this (NumPy 2.4:
#: 31 x 16 held it, 32 x 16 did not); np.dot releases it whatever the size.
MATMUL_GIL_RESULTS = 512


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out[...] = a @ b`` for 2-D floats (transposed views welcome), without the GIL.

    For the kernels' split parts: a product that held the GIL made the other thread wait,
    and on a 2-vCPU guest each hand-over to an idle core cost 30-50 us (a 25 x 6 weight
    gradient serialised the two threads). ``out`` must be C-contiguous for np.dot.
    """
    if out.size < MATMUL_GIL_RESULTS:
        np.dot(a, b, out=out)
    else:
        np.matmul(a, b, out=out)


def one_blas_thread() -> AbstractContextManager[None]:
    """BLAS on one thread inside the block, its previous count restored after."""
    blas = blas_pools()
    return _OneThread(blas, [pool.num_threads for pool in blas])


class _OneThread:
    """Set every pool in `blas` to one thread; restore the `previous` counts on exit.

    A class, not a @contextmanager generator: over_batch enters it on every split, and the
    generator's set-up measured several microseconds there.
    """

    __slots__ = ("blas", "previous")

    def __init__(self, blas: list, previous: list[int]) -> None:
        self.blas, self.previous = blas, previous

    def __enter__(self) -> None:
        for pool, count in zip(self.blas, self.previous):
            if count != 1:
                pool.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        for pool, count in zip(self.blas, self.previous):
            if count != 1:
                pool.set_num_threads(count)


def _in_split(samples: Callable[[int, int], Any], low: int, high: int) -> Any:
    # A kernel called from inside a part must not split again.
    _IN_SPLIT.active = True
    try:
        return samples(low, high)
    finally:
        _IN_SPLIT.active = False


def _workers(count: int) -> queue.SimpleQueue:
    """The task queue of at least `count` worker threads (started on first use).

    Plain threads on a SimpleQueue: a round trip costs about 7 us where a
    ThreadPoolExecutor's submit and result cost 30, and a LeNet-5 step splits a dozen times.
    """
    with _POOL_LOCK:
        # A forked child inherits the queue but not its threads: start fresh ones there.
        if not _POOL or _POOL[1] != os.getpid():
            _POOL[:] = [queue.SimpleQueue(), os.getpid(), 0]
        tasks = _POOL[0]
        while _POOL[2] < count:
            threading.Thread(
                target=_serve, args=(tasks,), name="autograd_cv-split", daemon=True
            ).start()
            _POOL[2] += 1
        return tasks


def _serve(tasks: queue.SimpleQueue) -> None:
    """A worker: run parts from `tasks` forever, replying (index, ok, result or error)."""
    while True:
        index, samples, low, high, replies, done = tasks.get()
        try:
            replies.put((index, True, _in_split(samples, low, high)))
        except BaseException as error:  # handed to the caller, which raises it
            replies.put((index, False, error))
        _report_part(done, index, SPIN_POLLS // 16)
        del samples, replies, done  # drop references to the caller's arrays while idle


# ----- the end of a split: poll instead of sleeping ----------------------------------------
# When the calling thread finishes its part first and blocks on the replies queue, its core
# goes idle; on a 2-vCPU KVM guest an idle core took 30-50 us to wake again (an interrupt
# through the hypervisor), so every split paid that once more at its end (LeNet-5's c3 forward:
# the caller resumed 38 us after the worker's reply, its backward 49). So the caller first
# polls a flag per worker without the GIL (a Numba loop, so the workers can take the GIL to
# finish), for at most SPIN_POLLS reads; a worker sets its flag after its reply and waits a
# moment for the caller's acknowledgement, so that the caller takes the GIL before it. The flag
# is only a hint: the replies queue is what the caller waits on, as before.

#: Flag reads the caller makes before it sleeps on the replies (a few hundred microseconds).
SPIN_POLLS = 200_000


@intrinsic
def _load_acquire(typingctx, array, index):
    """array[index] of an int64 array as an atomic load: read afresh on every call."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        view = context.make_array(array_type)(context, builder, args[0])
        position = context.cast(builder, args[1], index_type, types.intp)
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [position])
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(array, index), codegen


@njit(cache=True, nogil=True)
def _await_parts(done, polls):  # pragma: no cover - compiled
    # Poll until every worker's flag (done[1:]) is set, then acknowledge (2); False if the
    # polls ran out first.
    for _ in range(polls):
        finished = True
        for k in range(1, done.shape[0]):
            if _load_acquire(done, k) == 0:
                finished = False
        if finished:
            for k in range(1, done.shape[0]):
                done[k] = 2
            return True
    return False


@njit(cache=True, nogil=True)
def _report_part(done, index, polls):  # pragma: no cover - compiled
    # Set this worker's flag, then wait (a bounded while) for the caller's acknowledgement.
    done[index] = 1
    for _ in range(polls):
        if _load_acquire(done, index) == 2:
            return True
    return False


def blas_pools() -> list:
    """threadpoolctl's controllers of the loaded BLAS libraries, found once."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a dependency; without it nothing splits
            _BLAS.append(None)
        else:
            found = [p for p in ThreadpoolController().lib_controllers if p.user_api == "blas"]
            _BLAS.append(found)
    return _BLAS[0] or []


def equal_block(count: int, most: int) -> int:
    """The size of the fewest equal blocks of at most `most` items that cover `count` (>= 1).

    64 samples at 21 a block would run 21 + 21 + 21 + 1, and the last one-sample GEMM is
    the slowest per column; equal blocks run 16 + 16 + 16 + 16.
    """
    most = max(1, min(count, most))
    return max(1, -(-count // max(-(-count // most), 1)))


def scratch(name: str, size: int, dtype) -> np.ndarray:
    """A reusable 1-D work buffer of at least `size` items, one per thread, name and dtype.

    Fresh multi-megabyte arrays on every call cost page faults (as much as the GEMM on LeNet's
    convs; benchmarks/conv.py); the kernels' work buffers never outlive the call that fills
    them.
    """
    key = (name, np.dtype(dtype).str)
    pool = _SCRATCH.__dict__.setdefault("buffers", {})
    buffer = pool.get(key)
    if buffer is None or buffer.size < size:
        buffer = np.empty(max(size, 1), dtype)
        if size * buffer.itemsize <= KEEP_SCRATCH_BYTES:
            pool[key] = buffer
    return buffer[:size]
