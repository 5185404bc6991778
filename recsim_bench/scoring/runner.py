"""The job runner behind ``recsim-bench run``: every (agent, environment, training seed) of a protocol.

The job model
-------------
A *job* is one :class:`Job`: an agent (by name, :mod:`recsim_bench.agents`) on one environment of the protocol, with one
training seed. :func:`run_job` builds the agent with :func:`recsim_bench.agents.make_agent`; an agent that learns
(its class has ``train``: ridge-greedy, ppo, slateq, sb3-ppo) trains for the protocol entry's
``train_steps`` with the training seed (or fewer, when its config sets its own ``train_steps``:
ridge-greedy's regression stops at 50,000), then every agent is evaluated under the protocol
(:func:`~recsim_bench.scoring.results.evaluate`), which gives one result.

An agent that learns gets one job per training seed (the first ``seeds`` of the protocol's). An
agent that does not learn (random, oracle, linucb, thompson) gets a single job per environment,
with training seed ``None``: its randomness is keyed by the evaluation seeds, so a result per
training seed would repeat the same numbers and fake independent runs.
:func:`~recsim_bench.scoring.results.validate_submission` accepts exactly this as complete: one
result per training seed of the protocol, or one untrained result.

Everything lives in the output directory ``DIR``::

    DIR/protocol.json                                    the protocol of the run (one version per DIR)
    DIR/results/<agent>__<Env-vN>__<protocol>__seed<k>.json   one result per job (``seed-none``: untrained)
    DIR/checkpoints/<agent>/<Env-vN>/seed<k>/            the training's log_dir and final weights
    DIR/leaderboard/                                     LEADERBOARD.md, leaderboard.csv (figures with matplotlib)

so ``recsim-bench validate DIR/results`` sees only results, and ``--rerun
'DIR/checkpoints/ppo/{env}/seed{seed}'`` re-evaluates the saved weights of one agent's results.

Resuming: a job is finished when its result file exists (under :meth:`Job.filename`, or the name
result files had before schema 2, without the protocol), names the job's agent, environment and
training seed, and passes :func:`~recsim_bench.scoring.results.result_errors` under the protocol.
A run skips finished jobs, so running the same command again after a crash or Ctrl-C does only the
others, and a corrupt or foreign file is simply done again. Jobs return their result to the runner,
which writes it atomically (:func:`~recsim_bench.scoring.results.write_result`); a job stopped
midway leaves no result, only its checkpoints, and an agent whose ``train`` takes ``resume_from``
(ppo) continues from its last checkpoint (up to the same budget; the result then records the steps
trained on in all and the wall time of the resumed part of training). The jobs of a run are
distinct and each is started once; a lock on ``DIR/.lock`` keeps a second run out of the same directory,
and each local worker holds a lock on ``DIR/.workers/<pid>`` while it lives, so that no run starts beside
a worker of an earlier one. SIGTERM stops a run as Ctrl-C does; local workers end when the runner ends,
however it ends.

Backends:

- ``local`` (default): ``workers`` spawned processes (one job each at a time, one thread each when
  there are several); with one worker the jobs run in the calling process.
- ``ray``: the same job function as Ray tasks, on the cluster at ``address`` or on a local instance,
  one CPU per job and one GPU per training job when the device is ``cuda`` (or ``auto`` and the
  cluster has GPUs). Results travel back to the runner, which writes them; resuming a training job
  from its checkpoint needs ``DIR`` on a filesystem the nodes share. Needs ``pip install
  'recsim-bench[ray]'``.

``--quick`` (:func:`~recsim_bench.scoring.protocol.quick_protocol`) runs the fast agents on protocol
``v1-quick``: v1 with fewer test users and a small training budget, every training seed, in a few
minutes on two cores. Its results name ``v1-quick`` (which ``recsim-bench validate`` and
``leaderboard`` load by name), never validate against v1 and are NOT comparable with v1's.

This module needs only the core dependencies to import; ``baselines`` (and torch) and Ray are
imported when a run needs them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import dataclasses
import fcntl
import functools
import importlib.util
import inspect
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from recsim_bench.agents import agent_class, learns, make_agent
from recsim_bench.checks import is_integer
from recsim_bench.envs import NAMESPACE
from recsim_bench.files import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, read_json_strict, write_json_atomic
from recsim_bench.scoring.leaderboard import write_leaderboard
from recsim_bench.scoring.protocol import DEFAULT_VERSION, Protocol, is_published, load_protocol
from recsim_bench.scoring.results import REQUESTED_DEVICE, evaluate, read_result, result_filename, result_errors, write_result

BACKENDS = ("local", "ray")

#: Exit status of an interrupted run (the shell's convention for SIGINT).
INTERRUPTED = 130

#: ``recsim-bench run --quick``: the fast agents (ppo with the quick budget) on the quick protocol.
QUICK_AGENTS = ("random", "oracle", "ridge-greedy", "linucb", "thompson", "ppo")

RAY_HINT = "pip install 'recsim-bench[ray]'"
_NOT_COMPARABLE = "not a published protocol: its numbers are NOT comparable with published results"

_WORKERS = ".workers"  # in DIR: one file per live local worker, locked by it (named by its pid)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_worker_lock: IO[str] | None = None  # a worker's own lock file, open (hence locked) while the worker lives
#: Seconds a run waits for the workers of an earlier run to end before it refuses to start.
WORKER_GRACE = 5.0
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclasses.dataclass(frozen=True)
class Job:
    """One agent on one environment with one training seed (``None``: the agent does not train)."""

    agent: str
    env_id: str
    seed: int | None

    def filename(self, protocol: str | None) -> str:
        """The name of its result file under protocol version ``protocol`` (:func:`~recsim_bench.scoring.results.result_filename`);
        ``None``: the name before schema 2, without the protocol."""
        named = {"protocol": protocol} if protocol is not None else {}
        return result_filename({"agent": {"name": self.agent}, "env_id": self.env_id, "seeds": {"train": self.seed}, **named})

    def checkpoint_dir(self, out_dir: Path | str) -> Path:
        """Where its training writes logs and checkpoints: ``out_dir/checkpoints/<agent>/<Env-vN>/seed<k>``."""
        return Path(out_dir) / "checkpoints" / self.agent / self.env_id.split("/")[-1] / f"seed{self.seed}"

    def __str__(self) -> str:
        return f"{self.agent} {self.env_id} " + ("untrained" if self.seed is None else f"seed {self.seed}")


#: What runs a job: ``(job, protocol, out_dir, device) -> result`` (the result is not written).
JobFunction = Callable[[Job, Protocol, str, str], dict[str, Any]]


@dataclasses.dataclass
class Report:
    """What a run did: the jobs it planned, those finished before it, done now or failed, whether it was interrupted."""

    jobs: list[Job]
    skipped: list[Job]
    done: list[Job] = dataclasses.field(default_factory=list)
    failed: dict[Job, str] = dataclasses.field(default_factory=dict)
    interrupted: bool = False
    leaderboard_error: str | None = None

    @property
    def exit_status(self) -> int:
        """0 when every job is finished (and the leaderboard written), 1 otherwise, :data:`INTERRUPTED` after Ctrl-C."""
        return INTERRUPTED if self.interrupted else 1 if self.failed or self.leaderboard_error else 0


# ----------------------------------------------------------------------------- protocols and plans
def resolve_envs(envs: str | Sequence[str], protocol: Protocol) -> list[str]:
    """The protocol's ids for ``envs``: ``"all"``, or names with or without the ``RecSimBench/`` namespace."""
    names = [envs] if isinstance(envs, str) else list(envs)
    if names == ["all"]:
        return protocol.env_ids
    if not names:
        raise ValueError("envs: give at least one environment, or all")
    chosen = []
    for name in names:
        env_id = name if name in protocol.envs else f"{NAMESPACE}/{name}"
        if env_id not in protocol.envs:
            allowed = ", ".join(env_id.split("/")[-1] for env_id in protocol.env_ids)
            raise ValueError(f"envs: {name!r} is not an environment of protocol {protocol.version}; allowed: all, {allowed}")
        chosen.append(env_id)
    return list(dict.fromkeys(chosen))


def trains(agent: str) -> bool:
    """Whether the agent named ``agent`` learns (its class has ``train``): the one list of which agents train.
    An unknown name, or one whose package lacks a dependency, raises ``ValueError``."""
    try:
        return learns(agent_class(agent))
    except ValueError as error:
        raise ValueError(f"agents: {error}") from None


def plan(agents: Sequence[str], envs: str | Sequence[str], seeds: int | None, protocol: Protocol) -> list[Job]:
    """The distinct jobs of ``agents`` x ``envs`` x the first ``seeds`` training seeds (default: all) of each env."""
    agents = list(dict.fromkeys(agents))
    if not agents:
        raise ValueError("agents: give at least one agent")
    env_ids = resolve_envs(envs, protocol)
    if seeds is not None and not (is_integer(seeds) and seeds >= 1):
        raise ValueError(f"seeds: must be an integer >= 1, got {seeds!r}")
    for env_id in env_ids:
        available = len(protocol.env(env_id).train_seeds)
        if seeds is not None and seeds > available:
            raise ValueError(f"seeds: protocol {protocol.version} has {available} training seeds on {env_id}; allowed: 1..{available}")
    learning = {agent: trains(agent) for agent in agents}
    return [
        Job(agent, env_id, seed)
        for agent in agents
        for env_id in env_ids
        for seed in (protocol.env(env_id).train_seeds[:seeds] if learning[agent] else (None,))
    ]


def is_finished(job: Job, protocol: Protocol, results_dir: Path) -> bool:
    """Whether ``results_dir`` holds ``job``'s result: readable, about this job, and valid under ``protocol``.

    The file is looked for under its name and under its name before schema 2 (no protocol in it):
    one directory holds one protocol's run (``DIR/protocol.json``), so an old-named valid file is
    this job's, and a run resumed after the rename neither redoes it nor writes a second copy of it.
    """
    for name in (job.filename(protocol.version), job.filename(None)):
        path = results_dir / name
        if not path.is_file():
            continue
        try:
            result = read_result(path)
        except ValueError:
            continue
        if result_errors(result, protocol):
            continue
        if (result["agent"]["name"], result["env_id"], result["seeds"]["train"]) == (job.agent, job.env_id, job.seed):
            return True
    return False


# ----------------------------------------------------------------------------- one job
def verbosity(name: str, verbose: bool) -> dict[str, Any]:
    """The config override that switches agent ``name``'s progress lines on or off (``{}`` when it has none)."""
    return {"verbose": verbose} if "verbose" in {field.name for field in dataclasses.fields(agent_class(name).Config)} else {}


def can_resume(agent: Any) -> bool:
    """Whether ``agent``'s ``train`` continues from a checkpoint (takes ``resume_from``)."""
    return "resume_from" in inspect.signature(agent.train).parameters


def train_and_save(
    agent: Any,
    name: str,
    env_id: str,
    steps: int,
    seed: int,
    out: Path | str,
    device: str = "auto",
    env_kwargs: dict[str, Any] | None = None,
    resume: bool = False,
) -> tuple[dict[str, Any], float]:
    """Train ``agent`` (named ``name``) on ``env_id`` and save it to ``out``: the one training path of
    ``recsim-bench train``, :func:`run_job` and ``benchmarks/``.

    ``out`` (created if needed) gets the agent's logs and weights and ``run.json``: the agent,
    environment, budget, seed, device, config and the training summary (non-finite numbers as
    ``null``), which is what :func:`~recsim_bench.scoring.results.evaluate` reads a checkpoint's
    training steps and wall time from. With ``resume`` and a checkpoint in ``out``, training
    continues from it (an agent that cannot resume raises ``ValueError``). Returns the
    ``run.json`` record and the seconds this call trained for (a resumed run: the resumed part).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    options = {}
    if resume and (out / "config.json").is_file():
        if not can_resume(agent):
            raise ValueError(f"--resume: agent {name!r} cannot resume; allowed: agents whose train takes resume_from")
        options = {"resume_from": str(out)}
    start = time.perf_counter()
    summary = agent.train(env_id, steps, seed, device=device, env_kwargs=env_kwargs, log_dir=str(out), **options)
    seconds = time.perf_counter() - start
    summary = {key: None if isinstance(v, float) and not np.isfinite(v) else v for key, v in summary.items()}  # strict JSON
    agent.save(str(out))
    run = {
        "agent": name,
        "env_id": env_id,
        "env_kwargs": env_kwargs or {},
        "steps": steps,
        "seed": seed,
        "device": device,
        "config": dataclasses.asdict(agent.config),
        "summary": summary,
    }
    write_json_atomic(out / "run.json", run)
    return run, seconds


def run_job(job: Job, protocol: Protocol, out_dir: str, device: str = "auto") -> dict[str, Any]:
    """Train ``job``'s agent (when it learns) and evaluate it under ``protocol``; returns the result, not yet written.

    Training (:func:`train_and_save`) writes into :meth:`Job.checkpoint_dir` and resumes from a
    checkpoint there when the agent can. Progress output of the agent (``verbose``) is switched off.
    """
    agent = make_agent(job.agent, job.env_id, verbosity(job.agent, False))
    train_steps = train_wall_time = None
    if job.seed is not None:
        budget = training_budget(agent, protocol.env(job.env_id).train_steps)
        run, train_wall_time = train_and_save(
            agent, job.agent, job.env_id, budget, job.seed, job.checkpoint_dir(out_dir), device, resume=can_resume(agent)
        )
        train_steps = int(run["summary"]["steps"])  # what it trained on in all, resumed part included
    (result,) = evaluate(
        agent,
        protocol,
        agent_name=job.agent,
        env_ids=[job.env_id],
        train_seed=job.seed,
        train_steps=train_steps,
        train_wall_time=train_wall_time,
    )
    return result


def training_budget(agent: Any, protocol_steps: int) -> int:
    """The steps a job trains for: the protocol's budget, or less when the agent's config sets its own ``train_steps``."""
    own = getattr(getattr(agent, "config", None), "train_steps", None)
    return protocol_steps if own is None else min(int(own), protocol_steps)


# ----------------------------------------------------------------------------- backends
Outcome = dict[str, Any] | Exception  # a job's result, or why it failed


def _attempt(call: Callable[[Job], dict[str, Any]], job: Job) -> Outcome:
    try:
        return call(job)
    except Exception as error:  # a failed job is reported; the others go on
        return error


def _start_worker(runner_pid: int, out_dir: str) -> None:
    """Set up a local worker: it leaves Ctrl-C to the runner (which stops it), ends when the runner ends, and
    holds ``out_dir/.workers/<pid>`` locked while it lives (see :func:`_live_workers`)."""
    global _worker_lock
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        # SIGKILL when the thread that started this worker ends: run()'s calling thread, which outlives the pool.
        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_end_when_orphaned, args=(runner_pid,), daemon=True).start()
    if os.getppid() != runner_pid:  # the runner ended before the signal was armed
        os._exit(1)
    directory = Path(out_dir) / _WORKERS
    directory.mkdir(exist_ok=True)
    _worker_lock = open(directory / str(os.getpid()), "w", encoding="utf-8")
    fcntl.flock(_worker_lock, fcntl.LOCK_EX)


def _end_when_orphaned(runner_pid: int) -> None:
    """Where there is no parent-death signal: end this process once its parent is no longer the runner."""
    while os.getppid() == runner_pid:
        time.sleep(1.0)
    os._exit(1)


def _live_workers(out: Path) -> list[str]:
    """The pids of the workers of earlier runs that still hold their lock in ``out/.workers``, waiting up to
    :data:`WORKER_GRACE` seconds for those that are ending (a killed runner's workers get their signal as it
    dies); the files of ended workers are removed."""
    deadline = time.monotonic() + WORKER_GRACE
    while True:
        live = []
        for path in sorted((out / _WORKERS).glob("*")):
            with open(path, "a", encoding="utf-8") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    live.append(path.name)
                    continue
                path.unlink()
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.1)


@contextlib.contextmanager
def _one_thread_per_process() -> Iterator[None]:
    """Set the thread-count variables that spawned workers inherit (those the user has not set) to 1."""
    added = [name for name in _THREAD_VARIABLES if name not in os.environ]
    os.environ.update({name: "1" for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _local(jobs: list[Job], call: Callable[[Job], dict[str, Any]], workers: int, out: Path) -> Iterator[tuple[Job, Outcome]]:
    """Run ``jobs`` in the calling process (one worker) or in ``workers`` spawned processes (see :func:`_start_worker`);
    yields them as they end."""
    if workers == 1:
        with _one_thread_per_process():  # read when torch is first imported, which is by the first job's agent
            for job in jobs:
                yield job, _attempt(call, job)
        return
    waiting = iter(jobs)
    running: dict[concurrent.futures.Future, Job] = {}
    with _one_thread_per_process():
        context = multiprocessing.get_context("spawn")
        others = set(multiprocessing.active_children())
        pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), str(out))
        )
        try:

            def submit() -> None:  # one job per idle worker: nothing queues up behind a running job
                job = next(waiting, None)
                if job is not None:
                    running[pool.submit(call, job)] = job

            for _ in range(workers):
                submit()
            while running:
                finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    job = running.pop(future)
                    error = future.exception()
                    yield job, (future.result() if error is None else error)
                    submit()
        except BaseException:
            # Stop the running jobs now (they rerun on resume): the pool's workers are the children started since it was
            # made (ProcessPoolExecutor has no public way to stop them before Python 3.14).
            for process in set(multiprocessing.active_children()) - others:
                process.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _ray(
    jobs: list[Job], call: JobFunction, protocol: Protocol, out_dir: str, device: str, workers: int | None, address: str | None
) -> Iterator[tuple[Job, Outcome]]:
    """Run ``jobs`` as Ray tasks (at most ``workers`` at once when given); yields them as they end."""
    if not jobs:
        return
    import ray

    started = not ray.is_initialized()
    if started and address:
        ray.init(address=address)
    elif started:
        ray.init(num_cpus=workers, include_dashboard=False)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        if device.startswith("cuda") and gpus == 0:
            raise ValueError(f"device: {device} asked for, but the Ray cluster has no GPU; allowed: auto, cpu")
        task = ray.remote(call)
        waiting = iter(jobs)
        running: dict[Any, Job] = {}

        def submit() -> None:
            job = next(waiting, None)
            if job is not None:
                use_gpu = job.seed is not None and device != "cpu" and gpus > 0  # training jobs only
                running[task.options(num_cpus=1, num_gpus=1 if use_gpu else 0).remote(job, protocol, out_dir, device)] = job

        for _ in range(len(jobs) if workers is None else workers):
            submit()
        try:
            while running:
                (ref,), _ = ray.wait(list(running), num_returns=1)
                job = running.pop(ref)
                try:
                    outcome: Outcome = ray.get(ref)
                except Exception as error:  # the task's exception, wrapped by Ray
                    outcome = error
                yield job, outcome
                submit()
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()


# ----------------------------------------------------------------------------- the run
@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` as Ctrl-C does (where signals can be handled: the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _claim(out: Path, protocol: Protocol) -> Iterator[None]:
    """Lock ``out`` for this run and record the protocol; a run of another protocol version in ``out`` raises ``ValueError``."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"out: another recsim-bench run is using {out}") from None
        live = _live_workers(out)
        if live:
            raise ValueError(
                f"out: worker process(es) {', '.join(live)} of an earlier run in {out} are still running; "
                f"wait for them to end or stop them (kill {' '.join(live)}), then run again"
            )
        recorded = out / "protocol.json"
        if recorded.exists():
            try:
                record = read_json_strict(recorded, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH)
            except ValueError as error:
                raise ValueError(f"out: {recorded} is not a protocol record ({error}); choose another directory") from None
            version = record.get("version") if isinstance(record, dict) else None
            if version != protocol.version:
                raise ValueError(f"out: {out} holds a run of protocol {version!r}, not {protocol.version!r}; choose another directory")
        write_json_atomic(recorded, protocol.to_json())
        yield


def _check_backend_options(backend: str, workers: int | None, device: str, address: str | None) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend: unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if address is not None and backend != "ray":
        raise ValueError(f"address: a Ray cluster address, for backend ray only (backend is {backend!r})")
    if workers is not None and not (is_integer(workers) and workers >= 1):
        raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
    if not isinstance(device, str) or not REQUESTED_DEVICE.fullmatch(device):
        raise ValueError(f"device: must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
    if backend == "ray" and importlib.util.find_spec("ray") is None:
        raise ValueError(f"backend: ray is not installed; {RAY_HINT}")


def _duration(seconds: float) -> str:
    """``12.3 s`` under a minute, else ``6 min 59 s`` (whole seconds, rounded before they are split)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _progress(count: int, total: int, job: Job, outcome: Outcome) -> str:
    """``[3/35] ppo RecSimBench/Boredom-v0 seed 2  return 112.3  150.2 s``, or a FAILED line with the traceback."""
    head = f"[{count:>{len(str(total))}}/{total}]"
    if isinstance(outcome, Exception):
        trace = "".join(traceback.format_exception(outcome)).rstrip().replace("\n", "\n    ")
        return f"{head} FAILED {job}: {type(outcome).__name__}: {outcome}\n    {trace}"
    seconds = outcome["wall_time"]["evaluate"] + (outcome["wall_time"]["train"] or 0.0)
    return f"{head} {job}  return {np.mean(outcome['returns']):.1f}  {_duration(seconds)}"


def valid_results(results_dir: Path, protocol: Protocol) -> dict[Path, dict[str, Any]]:
    """The result files in ``results_dir`` that are valid under ``protocol``, parsed."""
    valid = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            result = read_result(path)
        except ValueError:
            continue
        if not result_errors(result, protocol):
            valid[path] = result
    return valid


def summary_table(results: Iterable[dict[str, Any]], protocol: Protocol, agents: Sequence[str] = ()) -> str:
    """Mean return over training seeds, one row per environment and a column per agent (``agents`` first, in order).

    A ``*`` marks a trained agent with results for fewer training seeds than the protocol has.
    """
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in results:
        runs.setdefault((result["agent"]["name"], result["env_id"]), []).append(result)
    agents = list(dict.fromkeys([*agents, *sorted(agent for agent, _ in runs)]))
    env_ids = [env_id for env_id in protocol.env_ids if any((agent, env_id) in runs for agent in agents)]
    width = max(len(env_id.split("/")[-1]) for env_id in env_ids)
    columns = [max(len(agent), 9) for agent in agents]
    lines = [f"{'environment':<{width}}  " + "  ".join(f"{agent:>{c}}" for agent, c in zip(agents, columns))]
    partial = False
    for env_id in env_ids:
        cells = []
        for agent, column in zip(agents, columns):
            found = runs.get((agent, env_id), [])
            seeds = {result["seeds"]["train"] for result in found}
            short = None not in seeds and len(seeds) < len(protocol.env(env_id).train_seeds)
            partial |= bool(found) and short
            cell = f"{np.mean([np.mean(r['returns']) for r in found]):.2f}{'*' if short else ''}" if found else "-"
            cells.append(f"{cell:>{column}}")
        lines.append(f"{env_id.split('/')[-1]:<{width}}  " + "  ".join(cells))
    if partial:
        lines.append("* mean over fewer training seeds than the protocol's")
    return "\n".join(lines)


def _summarise(report: Report, out: Path, protocol: Protocol, leaderboard: bool, echo: Callable[[str], None]) -> None:
    """Print the summary table of every valid result in ``out/results`` and, with ``leaderboard``, write and print the leaderboard."""
    valid = valid_results(out / "results", protocol)
    if not valid:
        return
    label = "" if is_published(protocol) else f" ({_NOT_COMPARABLE})"
    echo(f"\nMean return over training seeds, protocol {protocol.version}{label}:")
    echo(summary_table(valid.values(), protocol, [job.agent for job in report.jobs]))
    if leaderboard:
        figures = importlib.util.find_spec("matplotlib") is not None
        try:
            tables = write_leaderboard(sorted(map(str, valid)), out / "leaderboard", protocol=protocol, figures=figures)
        except ValueError as error:  # the results are on disk already; only the leaderboard is missing
            report.leaderboard_error = str(error)
            echo(f"leaderboard not written: {error}")
        else:
            echo(f"\n{tables}\nleaderboard written to {out / 'leaderboard'}")
    if report.failed:
        echo(f"{len(report.failed)} job(s) failed (see above); run the same command again to retry them.")


def run(
    agents: Sequence[str],
    out_dir: Path | str,
    envs: str | Sequence[str] = "all",
    seeds: int | None = None,
    protocol: Protocol | str = DEFAULT_VERSION,
    backend: str = "local",
    workers: int | None = None,
    device: str = "auto",
    address: str | None = None,
    leaderboard: bool = True,
    job_function: JobFunction = run_job,
    echo: Callable[[str], None] = functools.partial(print, flush=True),
) -> Report:
    """Run every unfinished job of ``agents`` x ``envs`` x ``seeds`` under ``protocol`` into ``out_dir``; see the module docstring.

    ``workers`` defaults to one per CPU for ``local`` and to no limit (the cluster's resources)
    for ``ray``. Every argument is checked before any job runs (``ValueError`` naming the argument
    and the allowed values). Prints a line per finished job, then the summary table and, with
    ``leaderboard``, the leaderboard's tables (written to ``out_dir/leaderboard``). Ctrl-C or SIGTERM
    stops the running jobs and returns a report with ``interrupted`` set.
    """
    protocol = load_protocol(protocol)
    _check_backend_options(backend, workers, device, address)
    jobs = plan(agents, envs, seeds, protocol)
    out = Path(out_dir)
    results_dir = out / "results"
    with _claim(out, protocol):
        results_dir.mkdir(exist_ok=True)
        todo = [job for job in jobs if not is_finished(job, protocol, results_dir)]
        report = Report(jobs=jobs, skipped=[job for job in jobs if job not in todo])
        if not is_published(protocol):
            echo(f"protocol {protocol.version}: {_NOT_COMPARABLE}")
        if backend == "local":
            workers = workers or min(len(os.sched_getaffinity(0)), max(len(todo), 1))
        at_once = "as many jobs at once as the cluster allows" if workers is None else f"{workers} at once"
        echo(
            f"{len(jobs)} jobs under protocol {protocol.version}: {len(report.skipped)} already done, {len(todo)} to run "
            f"({backend}, {at_once}, device {device}); results in {results_dir}"
        )
        if backend == "local":
            call = functools.partial(job_function, protocol=protocol, out_dir=str(out), device=device)
            outcomes = _local(todo, call, workers, out)
        else:
            outcomes = _ray(todo, job_function, protocol, str(out), device, workers, address)
        start = time.perf_counter()
        try:
            with _sigterm_as_interrupt(), contextlib.closing(outcomes):
                for count, (job, outcome) in enumerate(outcomes, start=1):
                    if isinstance(outcome, Exception):
                        report.failed[job] = f"{type(outcome).__name__}: {outcome}"
                    else:
                        write_result(results_dir / job.filename(protocol.version), outcome)
                        report.done.append(job)
                    echo(_progress(count, len(todo), job, outcome))
        except KeyboardInterrupt:
            report.interrupted = True
        finished = len(report.skipped) + len(report.done)
        echo(f"{finished} of {len(jobs)} jobs finished, {len(report.failed)} failed ({_duration(time.perf_counter() - start)})")
        if report.interrupted:
            echo(
                f"Interrupted. Run the same command again to resume: the finished jobs in {results_dir} are skipped "
                "and training continues from its last checkpoint where the agent supports it."
            )
        else:
            _summarise(report, out, protocol, leaderboard, echo)
    return report


__all__ = [
    "BACKENDS",
    "INTERRUPTED",
    "QUICK_AGENTS",
    "Job",
    "Report",
    "is_finished",
    "plan",
    "resolve_envs",
    "run",
    "can_resume",
    "run_job",
    "train_and_save",
    "verbosity",
    "summary_table",
    "trains",
    "valid_results",
]
