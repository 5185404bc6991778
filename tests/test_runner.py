"""The job runner (``recsim-bench run``): planning, skipping, resuming, errors, and the local and Ray backends.

Every run here uses a tiny protocol (two environments, 8 test users, a small training budget).
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import baselines
import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench import cli
from recsim_bench.agents import make_agent
from recsim_bench.scoring import results as R
from recsim_bench.scoring import runner
from recsim_bench.scoring.protocol import (
    QUICK_EPISODES,
    QUICK_TRAIN_STEPS,
    is_published,
    known_versions,
    load_protocol,
    quick_protocol,
)
from recsim_bench.scoring.runner import Job

BOREDOM = "RecSimBench/Boredom-v0"
COLD = "RecSimBench/ColdStart-v0"
CALLS: list[Job] = []  # jobs started by counting_job, in order


@pytest.fixture(autouse=True)
def no_git(monkeypatch):
    """Results record the agent code's git commit; in-process jobs never call git."""
    monkeypatch.setattr(R, "git_commit", lambda path: None)
    CALLS.clear()


@pytest.fixture(scope="module")
def tiny():
    """v1 cut to two environments, 8 test users and 2,048 training steps."""
    return load_protocol("v1").restrict([BOREDOM, COLD], episodes=8, train_steps=2048)


def counting_job(job: Job, protocol, out_dir: str, device: str = "auto") -> dict:
    CALLS.append(job)
    return runner.run_job(job, protocol, out_dir, device)


def crashing_job(job: Job, protocol, out_dir: str, device: str = "auto") -> dict:
    """Ctrl-C during the second job."""
    if len(CALLS) == 1:
        raise KeyboardInterrupt
    return counting_job(job, protocol, out_dir, device)


def slow_cold_job(job: Job, protocol, out_dir: str, device: str = "auto") -> dict:
    """Jobs on ColdStart take a minute: a run can only end early by stopping them."""
    if job.env_id == COLD:
        time.sleep(60)
    return runner.run_job(job, protocol, out_dir, device)


def sleeping_job(job: Job, protocol, out_dir: str, device: str = "auto") -> dict:
    """Records its worker's pid in ``out_dir/started``, then sleeps: a run of these ends only when stopped."""
    started = Path(out_dir) / "started"
    started.mkdir(exist_ok=True)
    (started / str(os.getpid())).touch()
    time.sleep(120)
    raise AssertionError("a sleeping job was not stopped")


def returns_by_file(directory: Path) -> dict[str, list[float]]:
    return {path.name: json.loads(path.read_text(encoding="utf-8"))["returns"] for path in sorted(directory.glob("*.json"))}


def quiet_run(*args, **kwargs) -> runner.Report:
    kwargs.setdefault("leaderboard", False)
    return runner.run(*args, echo=lambda line: None, **kwargs)


# ----------------------------------------------------------------------------- plans and arguments
def test_plan_gives_a_job_per_training_seed_and_one_per_env_to_an_agent_that_does_not_train(tiny):
    jobs = runner.plan(["random", "ridge-greedy", "random"], "all", 2, tiny)
    assert jobs == [
        Job("random", BOREDOM, None),
        Job("random", COLD, None),
        Job("ridge-greedy", BOREDOM, 0),
        Job("ridge-greedy", BOREDOM, 1),
        Job("ridge-greedy", COLD, 0),
        Job("ridge-greedy", COLD, 1),
    ]
    assert runner.plan(["ridge-greedy"], ["ColdStart-v0", COLD], None, tiny) == [Job("ridge-greedy", COLD, s) for s in range(5)]
    assert jobs[2].filename("v1") == "ridge-greedy__Boredom-v0__v1__seed0.json" and jobs[0].filename("v1-quick") == "random__Boredom-v0__v1-quick__seed-none.json"
    assert jobs[2].filename(None) == "ridge-greedy__Boredom-v0__seed0.json"  # the name before schema 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"agents": ["random", "nope"]}, r"agents: unknown agent 'nope'; allowed: .*greedy.*ppo"),
        ({"agents": []}, r"agents: give at least one agent"),
        (
            {"envs": ["Boredom-v0", "InterestEvolution-v0"]},
            r"envs: 'InterestEvolution-v0' is not an environment of protocol v1; allowed: all, Boredom-v0, ColdStart-v0",
        ),
        ({"seeds": 6}, r"seeds: protocol v1 has 5 training seeds on .*; allowed: 1\.\.5"),
        ({"seeds": 0}, r"seeds: must be an integer >= 1"),
        ({"workers": 0}, r"workers: must be an integer >= 1"),
        ({"backend": "slurm"}, r"backend: unknown backend 'slurm'; allowed: local, ray"),
        ({"device": "tpu"}, r"device: must be auto, cpu, cuda, cuda:N or mps"),
        ({"address": "ray://head:10001"}, r"address: .* for backend ray only"),
    ],
)
def test_argument_errors_name_the_argument_before_any_job_runs(tiny, tmp_path, changes, message):
    arguments = {"agents": ["random"], "envs": "all", "seeds": 1, "workers": 1, "backend": "local", "device": "cpu", **changes}
    with pytest.raises(ValueError, match=message):
        quiet_run(out_dir=tmp_path / "out", protocol=tiny, job_function=counting_job, **arguments)
    assert CALLS == [] and not (tmp_path / "out").exists()


def test_ray_backend_without_ray_says_how_to_install_it(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(runner.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"ray is not installed; pip install 'recsim-bench\[ray\]'"):
        quiet_run(["random"], tmp_path, protocol=tiny, backend="ray")


def test_cli_run_reports_usage_errors_with_status_2(tmp_path, capsys):
    assert cli.main(["run", "--agents", "random,nope", "--out", str(tmp_path)]) == 2
    assert "recsim-bench run: error: agents: unknown agent 'nope'; allowed:" in capsys.readouterr().err
    assert cli.main(["run", "--out", str(tmp_path)]) == 2
    assert "--agents is required" in capsys.readouterr().err
    assert cli.main(["run", "--quick", "--protocol", "v1", "--out", str(tmp_path)]) == 2
    assert "--quick runs its own protocol v1-quick" in capsys.readouterr().err
    assert cli.main(["run", "--agents", "random", "--seeds", "9", "--out", str(tmp_path)]) == 2
    assert "seeds: protocol v1 has 5 training seeds" in capsys.readouterr().err


def test_an_output_directory_holds_one_protocol_version_and_one_run_at_a_time(tiny, tmp_path):
    (tmp_path / "protocol.json").write_text(json.dumps({"version": "v1-quick"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"holds a run of protocol 'v1-quick', not 'v1'"):
        quiet_run(["random"], tmp_path, protocol=tiny)
    for hostile in ("[" * 200_000, "{}" + " " * (2 << 20)):  # a protocol record is read as untrusted input too
        (tmp_path / "protocol.json").write_text(hostile, encoding="utf-8")
        with pytest.raises(ValueError, match="protocol.json is not a protocol record"):
            quiet_run(["random"], tmp_path, protocol=tiny)
    other = tmp_path / "other"
    other.mkdir()
    with open(other / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match="another recsim-bench run is using"):
            quiet_run(["random"], other, protocol=tiny)


# ----------------------------------------------------------------------------- skipping and resuming
def test_finished_jobs_are_skipped_and_a_corrupt_or_foreign_file_is_done_again(tiny, tmp_path):
    lines: list[str] = []
    report = runner.run(
        ["random", "ridge-greedy"], tmp_path, seeds=1, protocol=tiny, workers=1, leaderboard=False, job_function=counting_job, echo=lines.append
    )
    assert report.exit_status == 0 and CALLS == report.jobs == report.done and len(CALLS) == 4
    assert any(line.startswith("[3/4] ridge-greedy RecSimBench/Boredom-v0 seed 0  return ") for line in lines)
    assert "ridge-greedy" in lines[-1] and "* mean over fewer training seeds" in "\n".join(lines)  # the summary table

    CALLS.clear()
    again = quiet_run(["random", "ridge-greedy"], tmp_path, seeds=1, protocol=tiny, workers=1, job_function=counting_job)
    assert CALLS == [] and again.skipped == again.jobs and again.exit_status == 0

    results = tmp_path / "results"
    half = results / "random__ColdStart-v0__v1__seed-none.json"
    half.write_text(half.read_text(encoding="utf-8")[:100], encoding="utf-8")  # a half-written file
    foreign = R.read_result(results / "ridge-greedy__Boredom-v0__v1__seed0.json")
    foreign["returns"][0] += 1.0  # checksum no longer matches
    R.write_result(results / "ridge-greedy__Boredom-v0__v1__seed0.json", foreign)
    untouched = (results / "random__Boredom-v0__v1__seed-none.json").read_bytes()
    quiet_run(["random", "ridge-greedy"], tmp_path, seeds=1, protocol=tiny, workers=1, job_function=counting_job)
    assert CALLS == [Job("random", COLD, None), Job("ridge-greedy", BOREDOM, 0)]
    assert (results / "random__Boredom-v0__v1__seed-none.json").read_bytes() == untouched
    assert all(runner.is_finished(job, tiny, results) for job in again.jobs)
    assert R.read_result(results / "ridge-greedy__Boredom-v0__v1__seed0.json")["train_steps"] == 2048  # the budget, 8 steps of 256 rows
    assert R.read_result(results / "random__Boredom-v0__v1__seed-none.json")["train_steps"] is None


def test_a_result_under_its_name_before_schema_2_counts_as_finished(tiny, tmp_path):
    quiet_run(["random"], tmp_path, protocol=tiny, workers=1, job_function=counting_job)
    results = tmp_path / "results"
    job = Job("random", BOREDOM, None)
    (results / job.filename("v1")).rename(results / job.filename(None))
    CALLS.clear()
    again = quiet_run(["random"], tmp_path, protocol=tiny, workers=1, job_function=counting_job)
    assert CALLS == [] and job in again.skipped
    assert sorted(p.name for p in results.iterdir()) == ["random__Boredom-v0__seed-none.json", "random__ColdStart-v0__v1__seed-none.json"]
    (results / job.filename(None)).write_text("{", encoding="utf-8")  # unreadable: done again, under the new name
    quiet_run(["random"], tmp_path, protocol=tiny, workers=1, job_function=counting_job)
    assert CALLS == [job] and runner.is_finished(job, tiny, results) and (results / job.filename("v1")).is_file()


def test_a_crashed_run_resumes_with_only_the_missing_jobs(tiny, tmp_path):
    lines: list[str] = []
    report = runner.run(
        ["random", "ridge-greedy"], tmp_path, seeds=2, protocol=tiny, workers=1, leaderboard=False, job_function=crashing_job, echo=lines.append
    )
    assert report.interrupted and report.exit_status == runner.INTERRUPTED and report.done == [Job("random", BOREDOM, None)]
    assert "Run the same command again to resume" in lines[-1]
    results = tmp_path / "results"
    assert [p.name for p in results.iterdir()] == ["random__Boredom-v0__v1__seed-none.json"]  # nothing half-written
    first = (results / "random__Boredom-v0__v1__seed-none.json").read_bytes()

    CALLS.clear()
    resumed = quiet_run(["random", "ridge-greedy"], tmp_path, seeds=2, protocol=tiny, workers=1, job_function=counting_job)
    assert resumed.exit_status == 0 and CALLS == resumed.jobs[1:] and resumed.skipped == resumed.jobs[:1]
    assert (results / "random__Boredom-v0__v1__seed-none.json").read_bytes() == first
    files = [R.read_result(path) for path in results.glob("*.json")]
    assert len(files) == 6 and all(R.result_errors(result, tiny) == [] for result in files)


def test_a_failed_job_is_reported_and_retried_by_the_next_run(tiny, tmp_path):
    real = runner.run_job

    def failing_on_cold(job, protocol, out_dir, device="auto"):
        if job.env_id == COLD:
            raise RuntimeError("simulated failure")
        return real(job, protocol, out_dir, device)

    lines: list[str] = []
    report = runner.run(["random"], tmp_path, protocol=tiny, workers=1, leaderboard=False, job_function=failing_on_cold, echo=lines.append)
    assert report.exit_status == 1 and report.failed == {Job("random", COLD, None): "RuntimeError: simulated failure"}
    assert any(line.startswith("[2/2] FAILED random RecSimBench/ColdStart-v0 untrained: RuntimeError") for line in lines)
    retried = quiet_run(["random"], tmp_path, protocol=tiny, workers=1, job_function=counting_job)
    assert retried.exit_status == 0 and CALLS == [Job("random", COLD, None)]


def test_an_interrupted_training_job_resumes_from_its_checkpoint(tiny, tmp_path, monkeypatch):
    small = {"num_envs": 16, "num_steps": 8, "num_minibatches": 2, "update_epochs": 1}
    load_config = baselines.load_config
    monkeypatch.setattr(baselines, "load_config", lambda name, env_id, path=None: {**load_config(name, env_id, path), **small})
    job = Job("ppo", BOREDOM, 0)
    checkpoint = job.checkpoint_dir(tmp_path)
    runner.run_job(job, tiny.restrict([BOREDOM], train_steps=256), str(tmp_path), "cpu")  # the run got to its checkpoint at 256 steps
    assert json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))["steps_done"] == 256

    result = runner.run_job(job, tiny.restrict([BOREDOM], train_steps=512), str(tmp_path), "cpu")  # then resumes
    rows = (checkpoint / "progress.csv").read_text(encoding="utf-8").splitlines()
    assert json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))["steps_done"] == 512
    assert [int(row.split(",")[0]) for row in rows[1:]] == [256, 512]  # one curve, continued
    assert R.result_errors(result, tiny) == [] and result["agent"]["config"]["verbose"] is False
    assert R.rerun(result, str(checkpoint)) == []  # the saved weights are the evaluated ones


# ----------------------------------------------------------------------------- backends
def test_two_local_workers_give_the_same_results_as_one(tiny, tmp_path):
    agents = ["random", "linucb", "ridge-greedy"]
    lines: list[str] = []
    report = runner.run(agents, tmp_path / "two", seeds=2, protocol=tiny, workers=2, echo=lines.append)
    assert report.exit_status == 0 and len(report.done) == 8
    assert (tmp_path / "two" / "leaderboard" / "LEADERBOARD.md").is_file() and "leaderboard written" in lines[-1]
    quiet_run(agents, tmp_path / "one", seeds=2, protocol=tiny, workers=1)
    two, one = returns_by_file(tmp_path / "two" / "results"), returns_by_file(tmp_path / "one" / "results")
    assert len(two) == 8 and two == one
    assert (tmp_path / "two" / "checkpoints" / "ridge-greedy" / "ColdStart-v0" / "seed1" / "weights.npz").is_file()


def test_durations_round_before_they_split_into_minutes():
    assert [runner._duration(t) for t in (59.94, 60.0, 419.6, 3599.5)] == ["59.9 s", "1 min 00 s", "7 min 00 s", "60 min 00 s"]


def _thread_settings(job: object) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def test_a_one_worker_run_gives_its_jobs_one_thread_as_spawned_workers_get(monkeypatch):
    """With --workers 1 the jobs run in the runner's own process: without the thread variables, torch would
    start a thread per core there, and spin against the other runs sharing the cores."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # a variable the user set is kept
    [(_, settings)] = list(runner._local(["job"], _thread_settings, 1, Path(".")))
    assert settings == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "1"}
    assert "OMP_NUM_THREADS" not in os.environ  # and restored afterwards


def test_ctrl_c_stops_the_local_workers_at_once(tiny, tmp_path):
    lines: list[str] = []

    def interrupt_after_first(line: str) -> None:  # Ctrl-C reaches the runner once the first job is done
        lines.append(line)
        if line.startswith("[1/"):
            raise KeyboardInterrupt

    start = time.perf_counter()
    report = runner.run(["random"], tmp_path, protocol=tiny, workers=2, job_function=slow_cold_job, echo=interrupt_after_first)
    assert report.interrupted and report.done == [Job("random", BOREDOM, None)] and time.perf_counter() - start < 30
    assert multiprocessing.active_children() == []
    assert "Run the same command again to resume" in lines[-1]


# A runner in its own process: two local workers, each on a sleeping job.
RUNNER = """
import sys
sys.path.insert(0, sys.argv[2])
import test_runner
from recsim_bench.scoring import runner
from recsim_bench.scoring.protocol import load_protocol
tiny = load_protocol("v1").restrict([test_runner.BOREDOM, test_runner.COLD], episodes=8, train_steps=2048)
sys.exit(runner.run(["random"], sys.argv[1], protocol=tiny, workers=2, leaderboard=False, job_function=test_runner.sleeping_job).exit_status)
"""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def _wait_until(condition, seconds: float, what: str):
    """``condition()``'s first truthy value, polled for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} within {seconds} s")


def _runner_with_two_busy_workers(out: Path) -> tuple[subprocess.Popen, list[int]]:
    process = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(out), str(Path(__file__).parent)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    started = out / "started"
    workers = _wait_until(lambda: len(list(started.glob("*"))) == 2 and [int(p.name) for p in started.iterdir()], 120, "two workers started")
    return process, workers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_the_workers_end_when_the_runner_is_terminated_or_killed(tmp_path, stop):
    process, workers = _runner_with_two_busy_workers(tmp_path)
    try:
        process.send_signal(stop)
        output, _ = process.communicate(timeout=60)
        _wait_until(lambda: not any(map(_alive, workers)), 30, "the workers ended")
    finally:
        for pid in filter(_alive, workers):
            os.kill(pid, signal.SIGKILL)
    if stop == signal.SIGTERM:  # as Ctrl-C: a message, the resume hint, the interrupted status
        assert process.returncode == runner.INTERRUPTED
        assert "0 of 2 jobs finished" in output and "Run the same command again to resume" in output
    else:
        assert process.returncode == -signal.SIGKILL


def test_a_run_refuses_to_start_beside_a_live_worker_of_an_earlier_run(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "WORKER_GRACE", 0.5)
    worker = subprocess.Popen(  # what a worker of a killed runner would be, were it not stopped
        [sys.executable, "-c", "import os, sys, time; from recsim_bench.scoring import runner; "
         "runner._start_worker(os.getppid(), sys.argv[1]); print('ready', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert worker.stdout.readline() == "ready\n"
        with pytest.raises(ValueError, match=rf"out: worker process\(es\) {worker.pid} of an earlier run in .* are still running"):
            quiet_run(["random"], tmp_path, protocol=tiny, workers=1, job_function=counting_job)
        assert CALLS == [] and not (tmp_path / "results").exists()
    finally:
        worker.kill()
        worker.wait()
    report = quiet_run(["random"], tmp_path, protocol=tiny, workers=1, job_function=counting_job)  # its lock went with it
    assert report.exit_status == 0 and len(CALLS) == 2 and list((tmp_path / ".workers").iterdir()) == []


def test_ray_backend_runs_the_same_jobs(tiny, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        report = quiet_run(["random", "ridge-greedy"], tmp_path / "ray", seeds=1, protocol=tiny, backend="ray", device="cpu")
    finally:
        ray.shutdown()
    assert report.exit_status == 0 and len(report.done) == 4
    quiet_run(["random", "ridge-greedy"], tmp_path / "local", seeds=1, protocol=tiny, workers=1)
    assert returns_by_file(tmp_path / "ray" / "results") == returns_by_file(tmp_path / "local" / "results")


# ----------------------------------------------------------------------------- the quick protocol
def test_quick_results_validate_against_the_quick_protocol_only():
    quick = quick_protocol()
    assert quick.version == "v1-quick" and "NOT comparable with v1" in quick.description
    assert not is_published(quick) and is_published(load_protocol("v1"))
    assert known_versions() == ["v1", "v1-quick"] and load_protocol("v1-quick").to_json() == quick.to_json()
    entry = quick.env(BOREDOM)
    assert entry.episodes == QUICK_EPISODES and entry.train_steps == QUICK_TRAIN_STEPS
    (result,) = R.evaluate(make_agent("random", BOREDOM), quick, agent_name="random", env_ids=[BOREDOM])
    assert result["protocol"] == "v1-quick" and R.result_errors(result, quick) == [] and R.result_errors(result) == []
    assert R.result_errors(result, "v1") == ["protocol: result is for protocol 'v1-quick', validation is under 'v1'"]
    with pytest.raises(ValueError, match=r"unknown protocol version 'v9-quick'; known: \['v1', 'v1-quick'\]"):
        load_protocol("v9-quick")


def test_the_commands_validate_and_rank_quick_results_by_their_version(tmp_path, capsys):
    quick = quick_protocol()
    (tmp_path / "results").mkdir()
    for env_id in quick.env_ids:
        (result,) = R.evaluate(make_agent("random", env_id), quick, agent_name="random", env_ids=[env_id])
        R.write_result(tmp_path / "results" / R.result_filename(result), result)
    assert cli.main(["validate", str(tmp_path / "results")]) == 0
    assert cli.main(["leaderboard", str(tmp_path / "results"), "--out", str(tmp_path / "board"), "--no-figures"]) == 0
    assert "Protocol v1-quick (a quick check: NOT comparable with published results)" in (tmp_path / "board" / "LEADERBOARD.md").read_text(encoding="utf-8")


def test_an_agent_with_its_own_budget_trains_for_the_smaller_of_it_and_the_protocols():
    greedy = make_agent("ridge-greedy", BOREDOM)  # train_steps = 50,000 in baselines/configs/ridge-greedy.toml
    assert runner.training_budget(greedy, 2_000_000) == 50_000
    assert runner.training_budget(greedy, 2_048) == 2_048
    assert runner.training_budget(make_agent("slateq", BOREDOM), 2_000_000) == 300_000
    assert runner.training_budget(make_agent("ppo", BOREDOM), 2_000_000) == 2_000_000  # no budget of its own


def test_the_runner_imports_without_torch_or_ray():
    code = "import sys, recsim_bench.scoring.runner, recsim_bench.cli; print(sorted({'torch', 'ray', 'baselines'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip() == "[]"
