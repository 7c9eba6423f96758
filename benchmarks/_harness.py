"""The one way our benchmarks compare frameworks: each in a process of its own, in rounds.

A benchmark script names its cases and gives `build(framework, case)`, which returns the
functions to time (a dict, e.g. ``{"step": fn}`` or ``{"fwd": f, "bwd": g}``). `run` then
starts one worker process per framework per round, alternating which goes first
(ours, torch / torch, ours / ...), so a machine that gets busier half-way slows both alike.
A worker builds every case, calls each function twice to warm up, times `repeats` calls
(the functions of one case in turns; a BLAS reference such as NumPy's SGEMM after all other
cases, in bursts taking turns with its case's total, see TIMED_LAST) and reports the
medians as JSON, with the environment it ran in: CPU model, cores it may use, load average,
the BLAS / OpenMP pools that are loaded (threadpoolctl, or OpenBLAS asked directly where
threadpoolctl is missing) and, for PyTorch, its own thread count. The parent prints, per
case, the median over rounds and the spread (lowest and highest round median); then, with
`--pairs`, the same functions in interleaved bursts (below).

Why processes: in one process OpenBLAS's worker threads keep spinning for a while after every
GEMM and take the cores of whatever runs next, so the second framework was measured slower
than it is (PyTorch's LeNet c3 conv took 84 ms that way against 1.2 ms alone).
`OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` are removed from every worker's environment, so
both frameworks run the kernels OpenBLAS picks for this CPU.

Which PyTorch: `--torch-python PATH` (or `$BENCH_TORCH_PYTHON`) names the interpreter that
runs the PyTorch workers; without it, the interpreter running the script is used when it can
import torch, and PyTorch is left out otherwise. PyTorch workers never import autograd_cv
(scripts import it inside their "ours" branch), so that interpreter needs only torch and
NumPy. Threads: `--threads` (default 2) for both, set with torch.set_num_threads for PyTorch;
our process uses OpenBLAS's and Numba's defaults (one thread per core).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

FRAMEWORKS = ("ours", "torch")
#: Environment variables removed from every worker (both frameworks alike).
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
Build = Callable[[str, str], dict[str, Callable[[], object]]]


# ----- environment ------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name as the kernel reports it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> str:
    """The widest x86 vector extension the CPU reports (what BLAS kernels choose by)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "?"
    flags = set(text.split("flags", 1)[1].split("\n", 1)[0].split()) if "flags" in text else set()
    for name in ("avx512f", "avx2", "avx"):
        if name in flags:
            return name
    return "none"


def _openblas_direct() -> list[dict]:
    """NumPy's bundled OpenBLAS asked for its kernels and threads (no threadpoolctl needed)."""
    import ctypes

    found = []
    libs_dir = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs_dir.glob("*openblas*.so*")):
        library = ctypes.CDLL(str(path))
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                corename = getattr(library, f"{prefix}get_corename{suffix}", None)
                threads = getattr(library, f"{prefix}get_num_threads{suffix}", None)
                if corename is None or threads is None:
                    continue
                corename.restype = ctypes.c_char_p
                found.append(
                    {"internal_api": "openblas", "architecture": corename().decode(),
                     "num_threads": threads(), "filepath": path.name, "via": "ctypes"}
                )  # fmt: skip
                break
            else:
                continue
            break
    return found


def thread_pools() -> list[dict]:
    """The BLAS and OpenMP libraries loaded in this process, their versions, kernels, threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return _openblas_direct()
    keys = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    pools = []
    for info in threadpool_info():
        pool = {key: info[key] for key in keys if info.get(key) is not None}
        pool["filepath"] = Path(info["filepath"]).name
        pools.append(pool)
    return pools


def environment(framework: str) -> dict:
    """What this process runs on and with: CPU, cores, load, libraries and their thread pools."""
    env = {
        "framework": framework,
        "cpu": cpu_model(),
        "vector": cpu_flags(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "unset": {name: os.environ.get(name, "(unset)") for name in UNSET},
        "pools": thread_pools(),
    }
    if "numba" in sys.modules:
        import numba

        env["numba"] = f"{numba.__version__}, {numba.get_num_threads()} threads, " + (
            f"layer {numba.config.THREADING_LAYER}"
        )
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info = torch.__config__.parallel_info().splitlines()
        libraries = [line.split(" Version")[0].split(" (Git")[0] for line in info
                     if line.startswith(("OpenMP", "Intel", "ATen parallel"))]  # fmt: skip
        env["torch"] = (
            f"{torch.__version__}, {torch.get_num_threads()} threads ({', '.join(libraries)})"
        )
    return env


def describe(env: dict) -> str:
    """One paragraph from `environment`'s dict."""
    pools = "; ".join(
        f"{p.get('internal_api')} {p.get('version', '')} {p.get('architecture', '')} "
        f"x{p.get('num_threads')} ({p.get('filepath')})".replace("  ", " ")
        for p in env["pools"]
    )
    extra = "".join(f", {key} {env[key]}" for key in ("numba", "torch") if key in env)
    return (
        f"{env['framework']}: {env['cpu']} ({env['vector']}), {env['cores']} cores, load "
        f"{env['load_average']}, python {env['python']}, numpy {env['numpy']}{extra}; "
        f"pools: {pools or 'none found'}; {env['unset']}"
    )


def median_seconds(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of `fn()` over `repeats` calls after `warmup` calls (one process)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def geometric_mean(values: Sequence[float]) -> float:
    """Geometric mean of positive numbers."""
    return float(np.exp(np.mean(np.log(values))))


# ----- worker -----------------------------------------------------------------------------
def import_torch(threads: int):
    """PyTorch with `threads` threads (the worker's framework)."""
    import torch

    torch.set_num_threads(threads)
    return torch


#: Metrics timed after every other metric of every case: a multi-threaded BLAS reference
#: (NumPy's own SGEMM) leaves OpenBLAS's workers spinning for a while, and the function
#: timed next shared its cores with them (our LeNet convs measured 1.5-2x slower that way).
#: Each is timed in bursts taking turns with its case's PAIRED metric (`_bursts_in_turns`),
#: so the two meet the host in the same phase and their ratio can be trusted.
TIMED_LAST = ("sgemm",)
PAIRED = "total"


def _work(
    build: Build, framework: str, cases: list[str], repeats: int, case_repeats: dict[str, int]
) -> dict:
    results: dict[str, dict[str, float]] = {}
    last: list[tuple[str, dict[str, Callable[[], object]], int]] = []
    for case in cases:
        functions = build(framework, case)
        count = repeats if repeats > 0 else case_repeats.get(case, 7)
        later = {m: fn for m, fn in functions.items() if m in TIMED_LAST}
        now = {m: fn for m, fn in functions.items() if m not in TIMED_LAST}
        results[case] = _time_in_turns(now, count)
        if later:
            last.append((case, {PAIRED + "_paired": functions[PAIRED], **later}, count))
    for case, functions, count in last:
        results[case].update(_bursts_in_turns(functions, count))
    return {"env": environment(framework), "results": results}


def _time_in_turns(functions: dict[str, Callable[[], object]], count: int) -> dict[str, float]:
    """Two warm-up calls each, then `count` rounds calling each function in turn: medians."""
    for fn in functions.values():
        fn()
        fn()
    times: dict[str, list[float]] = {metric: [] for metric in functions}
    for _ in range(count):
        for metric, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[metric].append(time.perf_counter() - start)
    return {metric: float(np.median(t)) for metric, t in times.items()}


def _bursts_in_turns(
    functions: dict[str, Callable[[], object]], count: int, calls: int = 3
) -> dict[str, float]:
    """`count` turns of a burst per function: a warm-up call, `calls` timed, then `settle`.

    The warm-up absorbs waking the thread pools after the wait (a call after 0.2 s idle
    took 2.5 ms where the same call back to back took 0.8). Medians of the timed calls.
    """
    times: dict[str, list[float]] = {metric: [] for metric in functions}
    for _ in range(count):
        for metric, fn in functions.items():
            fn()
            for _ in range(calls):
                start = time.perf_counter()
                fn()
                times[metric].append(time.perf_counter() - start)
            settle()
    return {metric: float(np.median(t)) for metric, t in times.items()}


# ----- quiet threads ----------------------------------------------------------------------
def cpu_seconds(pid: int | None = None) -> float | None:
    """CPU time all threads of process `pid` (default: this one) have used; None off Linux."""
    root = f"/proc/{pid or os.getpid()}/task"
    try:
        total = 0
        for task in os.listdir(root):
            with open(f"{root}/{task}/schedstat") as stats:  # on-CPU nanoseconds first
                total += int(stats.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total * 1e-9


def settle(pid: int | None = None, poll: float = 0.01, busy: float = 0.2,
           limit: float = 1.0) -> float:  # fmt: skip
    """Wait until process `pid`'s threads use under `busy` of a core for two polls in a row.

    BLAS and OpenMP workers spin for a while after their last task (OpenBLAS's ~0.1 s here,
    PyTorch's OpenMP ~0.01 s), on cores the next timed code needs. Waits `limit` at most;
    sleeps 0.2 s where CPU times cannot be read. Returns the seconds waited.
    """
    start = time.perf_counter()
    used = cpu_seconds(pid)
    if used is None:
        time.sleep(0.2)
        return 0.2
    quiet = 0
    while quiet < 2 and time.perf_counter() - start < limit:
        time.sleep(poll)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now is not None and now - used < busy * poll else 0
        used = now if now is not None else used
    return time.perf_counter() - start


# ----- parent -----------------------------------------------------------------------------
def torch_python(explicit: str | None) -> str | None:
    """The interpreter for PyTorch workers: explicit, $BENCH_TORCH_PYTHON, or ours if it has
    torch; None when there is none."""
    chosen = explicit or os.environ.get("BENCH_TORCH_PYTHON")
    if chosen:
        return chosen
    return sys.executable if importlib.util.find_spec("torch") is not None else None


def _pythons(args: argparse.Namespace) -> dict[str, str | None]:
    """The interpreter per framework (PyTorch's None where there is none)."""
    return {"ours": sys.executable, "torch": torch_python(args.torch_python)}


def worker_environment() -> dict[str, str]:
    """os.environ without the variables that would make the two sides run different kernels."""
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    return env


class Results:
    """Round medians per framework, case and metric, with the environments that produced them."""

    def __init__(self) -> None:
        self.rounds: dict[str, dict[str, dict[str, list[float]]]] = {}
        self.envs: dict[str, list[dict]] = {}

    def add(self, framework: str, report: dict) -> None:
        self.envs.setdefault(framework, []).append(report["env"])
        by_case = self.rounds.setdefault(framework, {})
        for case, metrics in report["results"].items():
            for metric, seconds in metrics.items():
                by_case.setdefault(case, {}).setdefault(metric, []).append(seconds)

    def has(self, framework: str, case: str, metric: str) -> bool:
        return metric in self.rounds.get(framework, {}).get(case, {})

    def values(self, framework: str, case: str, metric: str) -> list[float]:
        return self.rounds[framework][case][metric]

    def median(self, framework: str, case: str, metric: str) -> float:
        return float(np.median(self.values(framework, case, metric)))

    def paired_ratios(self, case: str, metric: str) -> list[float]:
        """Ours over PyTorch round by round (the two ran one after the other)."""
        ours, theirs = self.values("ours", case, metric), self.values("torch", case, metric)
        return [a / b for a, b in zip(ours, theirs)]

    def cell(self, framework: str, case: str, metric: str, scale: float = 1e3) -> str:
        """'median (lowest-highest)' in milliseconds by default."""
        values = np.asarray(self.values(framework, case, metric)) * scale
        low, mid, high = (_figure(v) for v in (values.min(), np.median(values), values.max()))
        return f"{mid} ({low}-{high})"


def _figure(value: float) -> str:
    """Three significant figures, without exponents."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _run_worker(
    script: str, python: str, framework: str, cases: list[str], args: argparse.Namespace
) -> dict:
    command = [python, script, "--worker", framework, "--cases", ",".join(cases),
               "--repeats", str(args.repeats), "--threads", str(args.threads)]  # fmt: skip
    done = subprocess.run(command, env=worker_environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{framework} worker failed (exit {done.returncode}): {' '.join(command)}\n"
            f"{done.stderr[-4000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def parser(description: str, cases: Sequence[str], repeats: int, rounds: int = 3):
    """The options every benchmark takes (its own may be added before `run`)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--only", default=",".join(cases), help="comma-separated cases")
    p.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", rounds)))
    p.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", repeats)))
    p.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "2")))
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), help="ours,torch or one")
    p.add_argument("--torch-python", default=None, help="interpreter for the PyTorch workers")
    p.add_argument("--json", default=None, help="also write every round's medians here")
    p.add_argument("--pairs", type=int, default=int(os.environ.get("BENCH_PAIRS", 15)),
                   help="interleaved burst pairs per case after the rounds (0: none)")  # fmt: skip
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    p.add_argument("--cases", default=None, help=argparse.SUPPRESS)
    return p


def run(
    script: str, build: Build, args: argparse.Namespace, case_repeats: dict[str, int] | None = None
) -> Results | None:
    """In a worker: time and print JSON, return None. In the parent: the rounds' Results.

    `case_repeats` gives each case its own number of timed calls when `--repeats` is 0.
    """
    if args.worker:
        if args.worker == "torch":
            import_torch(args.threads)
        report = _work(build, args.worker, args.cases.split(","), args.repeats, case_repeats or {})
        print(json.dumps(report))
        return None
    cases = args.only.split(",")
    pythons = _pythons(args)
    frameworks = [f for f in args.frameworks.split(",") if pythons.get(f)]
    if "torch" in args.frameworks and not pythons["torch"]:
        print("PyTorch: not importable here and no --torch-python given; ours only")
    results = Results()
    for index in range(args.rounds):
        order = frameworks if index % 2 == 0 else frameworks[::-1]
        for framework in order:
            report = _run_worker(script, pythons[framework], framework, cases, args)
            results.add(framework, report)
    print(f"{args.rounds} rounds, alternating, each framework in a process of its own; "
          f"{args.repeats or 'per-case'} timed calls per round (median); figures are the "
          f"median of the round medians (lowest-highest round)")  # fmt: skip
    for framework in frameworks:
        envs = results.envs[framework]
        print("  " + describe(envs[0]))
        loads = [env["load_average"][0] for env in envs]
        print(f"    load average (1 min) at each round: {loads}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rounds": results.rounds, "envs": results.envs}))
    return results


# ----- interleaved bursts ------------------------------------------------------------------
# A shared host can change speed for seconds at a time, for every process alike (seen here:
# per-op chains of both frameworks flipping between ~6.5 and ~13 us). Rounds that start a
# process each are seconds apart, so a round can draw the slow phase for one side only.
# Two long-lived workers instead take turns running short bursts (~0.2 s), one at a time,
# and each pair of bursts, a fraction of a second apart, gives one ratio. Between bursts
# the parent waits until the worker that just ran has no thread spinning (`settle`), so
# the idle side blocks on its pipe and takes no core from the other's burst; the table
# says how much CPU the idle side still used.

#: Seconds a burst should last; each worker picks its own number of calls to reach it.
BURST_SECONDS = 0.2


def serve(build: Build, framework: str, case: str, metric: str, repeats: int, threads: int) -> None:
    """Worker side of `interleave`: on each "go" line, time a burst of calls, print the median.

    A burst is a warm-up call, then `repeats` timed calls, or with `repeats` 0 as many as
    fill BURST_SECONDS (1-50).
    """
    if framework == "torch":
        import_torch(threads)
    fn = build(framework, case)[metric]
    once = median_seconds(fn, repeats=1, warmup=2)
    count = repeats or int(np.clip(round(BURST_SECONDS / max(once, 1e-9)), 1, 50))
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        # the warm-up call wakes the thread pools that slept while the other side ran
        print(json.dumps(median_seconds(fn, repeats=count, warmup=1)), flush=True)


class Bursts:
    """Both workers' burst medians, pair by pair, and what the idle worker used meanwhile."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {"ours": [], "torch": []}
        #: per framework: its CPU use while the other side's burst ran, in cores
        self.idle_cores: dict[str, list[float]] = {"ours": [], "torch": []}

    def ratios(self) -> np.ndarray:
        """Ours over PyTorch, pair by pair."""
        return np.asarray(self.seconds["ours"]) / np.asarray(self.seconds["torch"])


def interleave(script: str, args: argparse.Namespace, case: str, metric: str, pairs: int,
               repeats: int = 0) -> Bursts | None:  # fmt: skip
    """Both frameworks' burst medians over `pairs` alternating pairs (None without PyTorch)."""
    pythons = _pythons(args)
    if not pythons["torch"]:
        return None
    workers = {}
    for framework, python in pythons.items():
        command = [python, script, "--serve", framework, "--cases", case,
                   "--repeats", str(repeats), "--threads", str(args.threads)]  # fmt: skip
        workers[framework] = subprocess.Popen(
            command, env=worker_environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    bursts = Bursts()
    try:
        for worker in workers.values():
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError(f"{script}: a --serve worker did not start")
        for worker in workers.values():
            settle(worker.pid)
        for index in range(pairs):
            for framework in ("ours", "torch") if index % 2 == 0 else ("torch", "ours"):
                worker, idle = workers[framework], workers[_other(framework)]
                idle_before, start = cpu_seconds(idle.pid), time.perf_counter()
                worker.stdin.write("go\n")
                worker.stdin.flush()
                bursts.seconds[framework].append(json.loads(worker.stdout.readline()))
                idle_after, wall = cpu_seconds(idle.pid), time.perf_counter() - start
                if idle_before is not None and idle_after is not None:
                    bursts.idle_cores[_other(framework)].append((idle_after - idle_before) / wall)
                settle(worker.pid)
    finally:
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    return bursts


def _other(framework: str) -> str:
    return "torch" if framework == "ours" else "ours"


def print_interleaved(script: str, args: argparse.Namespace, cases: Sequence[str], metric: str,
                      unit: str = "ms", per: int = 1) -> None:  # fmt: skip
    """`interleave` each case for `args.pairs` pairs and print a table (nothing without
    PyTorch or with --pairs 0): the medians (of a call, divided by `per`), the median of the
    pairs' ratios with its quartiles, and the most CPU an idle worker used while the other's
    burst ran."""
    if args.pairs <= 0 or not _pythons(args)["torch"]:
        return
    scale = {"ms": 1e3, "us": 1e6, "s": 1.0}[unit]
    print(f"\ninterleaved: {args.pairs} pairs of ~{BURST_SECONDS} s bursts per case, one "
          f"process per framework taking turns once the other's threads are quiet")  # fmt: skip
    header = (f"{'case':26s} {'autograd_cv ' + unit:>12s} {'PyTorch ' + unit:>12s} "
              f"{'pair ratio (quartiles)':>24s} {'idle CPU':>9s}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for case in cases:
        bursts = interleave(script, args, case, metric, args.pairs)
        ours, theirs = (np.median(bursts.seconds[f]) * scale / per for f in ("ours", "torch"))
        ratios = bursts.ratios()
        quartiles = np.quantile(ratios, [0.25, 0.5, 0.75])
        idle = [max(cores, default=0.0) for cores in bursts.idle_cores.values()]
        print(f"{case:26s} {_figure(ours):>12s} {_figure(theirs):>12s} "
              f"{quartiles[1]:9.2f} ({quartiles[0]:.2f}-{quartiles[2]:.2f}) "
              f"{max(idle):8.2f}c")  # fmt: skip


def print_table(results: Results, cases: Sequence[str], metric: str, unit: str = "ms") -> None:
    """Ours against PyTorch for one metric of each case: the ratio of the medians, and the
    median of the rounds' own ratios (each round's two processes ran minutes apart at most,
    so a machine that drifts between rounds moves both sides of that ratio alike)."""
    scale = {"ms": 1e3, "us": 1e6, "s": 1.0}[unit]
    header = (
        f"{'case':26s} {'autograd_cv ' + unit:>24s} {'PyTorch ' + unit:>24s} {'ratio':>6s}"
        f" {'per round':>17s}"
    )
    print(header)
    print("-" * len(header))
    ratios = []
    for case in cases:
        ours = results.cell("ours", case, metric, scale)
        line = f"{case:26s} {ours:>24s}"
        if results.has("torch", case, metric):
            theirs = results.cell("torch", case, metric, scale)
            ours_median = results.median("ours", case, metric)
            ratios.append(ours_median / results.median("torch", case, metric))
            paired = results.paired_ratios(case, metric)
            spread = f"{np.median(paired):.2f} ({min(paired):.2f}-{max(paired):.2f})"
            line += f" {theirs:>24s} {ratios[-1]:6.2f} {spread:>17s}"
        print(line)
    if len(ratios) > 1:
        print(f"{'geometric mean of ratios':26s} {'':>24s} {'':>24s} {geometric_mean(ratios):6.2f}")
