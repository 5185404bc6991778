"""Leaderboards: known answers from constructed result files, refusal of invalid input, determinism, figures."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench import cli
from recsim_bench.scoring import leaderboard as L
from recsim_bench.scoring import protocol as P
from recsim_bench.scoring import results as R

BOREDOM = "RecSimBench/Boredom-v0"
COLD = "RecSimBench/ColdStart-v0"
SEEDS = (0, 1, 2, 3, 4)
PNG = b"\x89PNG\r\n\x1a\n"
PUBLISHED_REPS = L.REPS  # the bootstrap replicates of a published leaderboard (the tests below use fewer)


def references(random: float, upper: float) -> dict:
    """Every stored reference name, so the normalised score is (R - random) / (upper - random) whichever bounds it."""
    return {"random": {"mean": random}, "oracle": {"mean": upper}, "best": {"mean": upper, "policy": "oracle"}}


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    """Results record the agent code's git commit: tests never call git. Fewer bootstrap replicates."""
    monkeypatch.setattr(R, "git_commit", lambda path: None)
    monkeypatch.setattr(L, "REPS", 200)


@pytest.fixture(scope="module")
def tiny() -> P.Protocol:
    """v1 cut to Boredom (normalised R / 10) and ColdStart (5 sessions, normalised (R - 2) / 2), 4 users each."""
    base = P.load_protocol("v1").restrict([BOREDOM, COLD], episodes=4)
    envs = {
        BOREDOM: dataclasses.replace(base.env(BOREDOM), references=references(0.0, 10.0)),
        COLD: dataclasses.replace(base.env(COLD), references=references(2.0, 4.0)),
    }
    return dataclasses.replace(base, envs=envs)


def sessions_with_mean(mean: float, users: int = 4) -> np.ndarray:
    """``(users, 5)`` session returns whose every row has mean ``mean``: ``mean - 1, mean - 1, mean, mean + 1, mean + 1``."""
    return np.tile(mean + np.array([-1.0, -1.0, 0.0, 1.0, 1.0]), (users, 1))


def put(directory: Path, protocol: P.Protocol, agent: str, env_id: str, seed: int | None, returns=None, sessions=None, steps=1000) -> Path:
    """Write one result file of ``agent`` under ``directory/agent/``; ColdStart takes ``sessions`` (users x 5).
    A trained run (with a seed) trained on ``steps``."""
    if sessions is not None:
        sessions = np.asarray(sessions, dtype=np.float64)
        returns = sessions.mean(axis=1)
    result = R.make_result(agent, env_id, protocol, returns, sessions, train_seed=seed, train_steps=None if seed is None else steps)
    (directory / agent).mkdir(parents=True, exist_ok=True)
    return R.write_result(directory / agent / R.result_filename(result), result)


def read_csv(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(out / "leaderboard.csv", encoding="utf-8") as f:
        return {(row["kind"], row["env_id"] or "overall", row["agent"]): row for row in csv.DictReader(f)}


@pytest.fixture
def ranked(tmp_path, tiny) -> Path:
    """Agent ``a``: 5 seeds, run means Boredom 1..5 (scores 0.1..0.5), ColdStart 2..4 by 0.5 (scores 0..1).
    Agent ``b``: untrained, 5 on Boredom and 3 on ColdStart (both 0.5). Agent ``c``: Boredom only."""
    results = tmp_path / "results"
    for i, seed in enumerate(SEEDS):
        put(results, tiny, "a", BOREDOM, seed, np.full(4, 1.0 + i))
        put(results, tiny, "a", COLD, seed, sessions=sessions_with_mean(2.0 + 0.5 * i))
        put(results, tiny, "c", BOREDOM, seed, np.full(4, 9.0))
    put(results, tiny, "b", BOREDOM, None, np.full(4, 5.0))
    put(results, tiny, "b", COLD, None, sessions=sessions_with_mean(3.0))
    return results


# ----------------------------------------------------------------------------- known answers
def test_per_env_mean_ci_and_normalised_score_are_the_hand_values(tmp_path, tiny):
    results = tmp_path / "results"
    # a: Boredom seed 0 returns 1..4 (mean 2.5), seed 1 all 3 (mean 3) -> 2.75, normalised 0.275
    put(results, tiny, "a", BOREDOM, 0, [1.0, 2.0, 3.0, 4.0])
    put(results, tiny, "a", BOREDOM, 1, [3.0, 3.0, 3.0, 3.0])
    # a: ColdStart sessions 2, 2, 3, 3, 5 (seed 0) and 3 each (seed 1): run means 3 and 3, sessions 1 and 5: 2.5 and 4
    put(results, tiny, "a", COLD, 0, sessions=np.tile([2.0, 2.0, 3.0, 3.0, 5.0], (4, 1)))
    put(results, tiny, "a", COLD, 1, sessions=np.full((4, 5), 3.0))
    # b: Boredom 6 and 8 -> 7, normalised 0.7
    put(results, tiny, "b", BOREDOM, 0, np.full(4, 6.0))
    put(results, tiny, "b", BOREDOM, 1, np.full(4, 8.0))

    tables = L.write_leaderboard([results], tmp_path / "out", protocol=tiny, figures=False)
    rows = read_csv(tmp_path / "out")
    a = rows["env", BOREDOM, "a"]
    half = stats.t.ppf(0.975, 1) * np.std([2.5, 3.0], ddof=1) / np.sqrt(2)
    assert (a["runs"], a["seeds"], a["ci_over"]) == ("2", "0 1", "seeds")
    assert float(a["mean_return"]) == pytest.approx(2.75)
    assert float(a["mean_return_low"]) == pytest.approx(2.75 - half)
    assert float(a["mean_return_high"]) == pytest.approx(2.75 + half)
    assert float(a["normalised"]) == pytest.approx(0.275)
    assert float(a["normalised_low"]) == pytest.approx((2.75 - half) / 10)
    assert float(rows["env", BOREDOM, "b"]["normalised"]) == pytest.approx(0.7)
    cold = rows["env", COLD, "a"]
    assert float(cold["mean_return"]) == 3.0 and float(cold["normalised"]) == pytest.approx(0.5)
    assert float(cold["mean_return_low"]) == float(cold["mean_return_high"]) == 3.0  # both runs mean 3
    assert float(cold["first_session"]) == pytest.approx(2.5) and float(cold["last_session"]) == pytest.approx(4.0)
    # two seeds of five: nobody is ranked overall
    assert not [key for key in rows if key[0] == "overall"]
    assert "Not ranked overall (listed per environment only): a (not every training seed on Boredom-v0, ColdStart-v0); b (no results on ColdStart-v0)." in tables
    # per env, best mean return first; the meta-RL table shows sessions 1 and 5
    assert tables.index("| 1 | b | 2 | 7.00 [") < tables.index("| 2 | a | 2 | 2.75 [")
    assert "| 1 | a | 2 | 3.00 [3.00, 3.00] | 0.500 [0.500, 0.500] | 2.50 | 4.00 |" in tables


def test_overall_iqm_mean_gap_and_probability_of_improvement(tmp_path, tiny, ranked):
    tables = L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny, figures=False)
    rows = read_csv(tmp_path / "out")
    a, b = rows["overall", "overall", "a"], rows["overall", "overall", "b"]
    # a: scores 0.1 .. 0.5 and 0, .25, .5, .75, 1; sorted, cut 2 at each end: .2 .25 .3 .4 .5 .5
    assert float(a["iqm"]) == pytest.approx(2.15 / 6)
    assert float(a["mean_normalised"]) == pytest.approx(0.4)
    assert float(a["optimality_gap"]) == pytest.approx(0.6)
    assert float(a["iqm_low"]) <= float(a["iqm"]) <= float(a["iqm_high"])
    # b: 0.5 on both; beats a's Boredom runs 4 times and ties once (4.5 / 5), ColdStart 2 wins 1 tie (2.5 / 5)
    assert float(b["iqm"]) == 0.5 and float(b["iqm_low"]) == float(b["iqm_high"]) == 0.5
    assert b["runs"] == "1" and b["p_improvement_over"] == "a"
    assert float(b["p_improvement"]) == pytest.approx(0.7)
    assert a["p_improvement_over"] == "b" and float(a["p_improvement"]) == pytest.approx(0.3)
    # c has no ColdStart result: listed on Boredom (first: 9 / 10), no overall row
    assert ("overall", "overall", "c") not in rows and float(rows["env", BOREDOM, "c"]["normalised"]) == pytest.approx(0.9)
    assert "| 1 | b | 1† | 0.500 [0.500, 0.500] | 0.500 [0.500, 0.500] | 0.500 | 0.70 [" in tables
    assert "| 2 | a | 5 | 0.358 [" in tables
    assert "c (no results on ColdStart-v0)" in tables


def test_references_choose_what_p_improvement_compares_with(tmp_path, tiny, ranked):
    L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny, figures=False, references=["a"])
    rows = read_csv(tmp_path / "out")
    assert rows["overall", "overall", "b"]["p_improvement_over"] == "a"
    assert rows["overall", "overall", "a"]["p_improvement_over"] == "" and rows["overall", "overall", "a"]["p_improvement"] == ""
    assert "reference agents: a." in (tmp_path / "out" / "LEADERBOARD.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"reference agent\(s\) \['zeta'\] have no results"):
        L.write_leaderboard([ranked], tmp_path / "other", protocol=tiny, figures=False, references=["zeta"])
    assert not (tmp_path / "other").exists()


# ----------------------------------------------------------------------------- refusing invalid input
def test_a_tampered_file_fails_everything_and_writes_nothing(tmp_path, tiny, ranked):
    path = ranked / "a" / "a__Boredom-v0__v1__seed3.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    result["returns"][0] += 100.0
    path.write_text(json.dumps(result), encoding="utf-8")
    with pytest.raises(L.InvalidResults) as error:
        L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny)
    assert error.value.failures == [f"{path}: checksum mismatch: the file says {result['checksum'][:12]}..., the content hashes to {R.checksum(result)[:12]}..."]
    assert "nothing was written" in str(error.value)
    assert not (tmp_path / "out").exists()


def test_duplicates_and_mixed_untrained_results_are_refused(tmp_path, tiny, ranked):
    copy = tmp_path / "copy.json"
    shutil.copy(ranked / "a" / "a__Boredom-v0__v1__seed0.json", copy)
    put(ranked, tiny, "b", BOREDOM, 0, np.full(4, 1.0))  # b has an untrained Boredom result already
    with pytest.raises(L.InvalidResults) as error:
        L.write_leaderboard([ranked, copy], tmp_path / "out", protocol=tiny, figures=False)
    assert error.value.failures == [
        f"{copy}: a on {BOREDOM}, training seed 0, is already in {ranked / 'a' / 'a__Boredom-v0__v1__seed0.json'}",
        f"b on {BOREDOM}: results with and without a training seed",
    ]
    assert not (tmp_path / "out").exists()


def test_command_refuses_files_that_do_not_follow_the_published_protocol(tmp_path, ranked, capsys):
    out = tmp_path / "out"
    assert cli.main(["leaderboard", str(ranked), "--out", str(out), "--no-figures"]) == 1
    error = capsys.readouterr().err
    assert f"FAIL {ranked / 'a' / 'a__Boredom-v0__v1__seed0.json'}: protocol: 4 episodes, protocol v1 says 500" in error
    assert "nothing was written" in error and not out.exists()


def test_command_writes_the_leaderboard_of_published_results(tmp_path, capsys):
    results, out = tmp_path / "results", tmp_path / "out"
    v1 = P.load_protocol("v1")
    for seed in SEEDS:
        put(results, v1, "fixed", BOREDOM, seed, np.full(500, 80.0 + seed))
    assert cli.main(["leaderboard", str(results), "--out", str(out), "--no-figures"]) == 0
    printed = capsys.readouterr().out
    assert "| 1 | fixed | 5 | 82.00 [" in printed and f"wrote {out / 'LEADERBOARD.md'}" in printed
    markdown = (out / "LEADERBOARD.md").read_text(encoding="utf-8")
    assert f"Generated by `recsim-bench leaderboard {results} --out {out} --no-figures`" in markdown
    assert float(read_csv(out)["env", BOREDOM, "fixed"]["normalised"]) == pytest.approx(v1.normalise(BOREDOM, 82.0))


# ----------------------------------------------------------------------------- determinism and figures
def test_markdown_and_csv_are_byte_identical_across_runs(tmp_path, tiny, ranked):
    out = tmp_path / "out"
    first = L.write_leaderboard([ranked], out, protocol=tiny, figures=False)
    texts = [(out / name).read_bytes() for name in ("LEADERBOARD.md", "leaderboard.csv")]
    assert L.write_leaderboard([ranked], out, protocol=tiny, figures=False) == first
    assert [(out / name).read_bytes() for name in ("LEADERBOARD.md", "leaderboard.csv")] == texts
    assert sorted(p.name for p in out.iterdir()) == ["LEADERBOARD.md", "leaderboard.csv"]  # no temporary files left


def test_figures_are_pngs_and_linked(tmp_path, tiny, ranked):
    pytest.importorskip("matplotlib")

    class FirstSlate:
        def reset(self, started, seeds=None):
            pass

        def act(self, obs, deterministic=True):
            return np.tile(np.arange(obs["response"].shape[1], dtype=np.int64), (len(obs["candidates"]), 1))

    evaluated = R.evaluate(FirstSlate(), tiny, agent_name="first-slate", out_dir=ranked / "first-slate")
    out = tmp_path / "out"
    L.write_leaderboard([ranked], out, protocol=tiny)
    names = ["normalised_scores.png", "aggregate.png", "performance_profile.png", "adaptation_ColdStart-v0.png"]
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(names)
    for name in names:
        assert (out / "figures" / name).read_bytes()[:8] == PNG
        assert f"(figures/{name})" in (out / "LEADERBOARD.md").read_text(encoding="utf-8")
    row = read_csv(out)["env", COLD, "first-slate"]
    cold = next(r for r in evaluated if r["env_id"] == COLD)
    assert (row["runs"], row["seeds"], row["ci_over"]) == ("1", "null", "users")
    assert float(row["mean_return"]) == pytest.approx(np.mean(cold["returns"]))
    assert float(row["first_session"]) == pytest.approx(np.mean(cold["session_returns"], axis=0)[0])


def test_figures_without_matplotlib_fail_before_writing(tmp_path, tiny, ranked, monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it now raises ImportError
    with pytest.raises(ValueError, match=r"pip install 'recsim-bench\[plots\]'"):
        L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny)
    assert not (tmp_path / "out").exists()
    L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny, figures=False)
    assert (tmp_path / "out" / "LEADERBOARD.md").exists() and not (tmp_path / "out" / "figures").exists()


def test_the_package_imports_without_matplotlib():
    code = "import sys; sys.modules['matplotlib'] = None; import recsim_bench.scoring.leaderboard, recsim_bench.cli"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_committed_leaderboard_is_what_the_committed_results_give(tmp_path, monkeypatch):
    """leaderboards/ must be regenerated whenever its results or the protocol's references change."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "leaderboards" / "results").is_dir():
        pytest.skip("no committed results (not a source checkout)")
    monkeypatch.chdir(root)
    monkeypatch.setattr(L, "REPS", PUBLISHED_REPS)
    tables = L.write_leaderboard(["leaderboards/results"], tmp_path, figures=False)
    assert tables in (root / "leaderboards" / "LEADERBOARD.md").read_text(encoding="utf-8")
    assert (tmp_path / "leaderboard.csv").read_bytes() == (root / "leaderboards" / "leaderboard.csv").read_bytes()


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(tiny):
    entry = L.EnvEntry(
        agent="=HYPERLINK(\"http://x\")",
        env_id=BOREDOM,
        seeds=(None,),
        ci_over="users",
        mean=L.Interval(-2.5, -3.0, -2.0),
        normalised=L.Interval(-0.25, -0.3, -0.2),
        run_scores=np.array([-0.25]),
        sessions=None,
        train_steps=(None,),
        verified=(None,),
    )
    text = L.render_csv(tiny, {entry.agent: {BOREDOM: entry}}, [])
    row = next(csv.DictReader(text.splitlines()))
    assert row["agent"] == "'=HYPERLINK(\"http://x\")"
    assert (row["mean_return"], row["mean_return_low"], row["normalised"]) == ("-2.5", "-3.0", "-0.25")  # numbers stay numbers
    assert [L._value(v) for v in ("+1", "-x", "@sum", "\tx", "plain", -1, None)] == ["'+1", "'-x", "'@sum", "'\tx", "plain", "-1", ""]


def record(path: Path, outcome: str, verified: Path | None = None) -> Path:
    """A verification record of the result at ``path`` in the maintainers' directory ``verified`` (default:
    ``verified/`` beside ``results/``), as ``validate --rerun`` writes it; returns its path."""
    result = R.read_result(path)
    reasons = [] if outcome == "exact" else ["rerun: returns differ"]
    mean = float(np.mean(result["returns"])) + (0.0 if outcome != "mismatch" else 100.0)
    interval = (mean - 1.0, mean + 1.0) if outcome != "mismatch" else (0.0, 1.0)
    rerun = R.RerunOutcome(reasons, len(result["returns"]), 0 if outcome == "exact" else 1, 1e-13, mean, interval, (-1e-13, 1e-13))
    assert rerun.outcome == outcome
    record_path = R.verification_path(path, result, verified)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    return R.write_result(record_path, R.verification_record(result, path, "my_agents:load", rerun))


def test_verified_entries_and_the_training_budget_are_shown(tmp_path, tiny, ranked):
    for env, name in ((BOREDOM, "b__Boredom-v0__v1__seed-none.json"), (COLD, "b__ColdStart-v0__v1__seed-none.json")):
        record(ranked / "b" / name, "exact")
    record(ranked / "a" / "a__Boredom-v0__v1__seed0.json", "within_ci")
    record(ranked / "a" / "a__ColdStart-v0__v1__seed0.json", "exact")
    for seed in SEEDS:
        record(ranked / "c" / f"c__Boredom-v0__v1__seed{seed}.json", "within_ci")
    put(ranked, tiny, "d", BOREDOM, 0, np.full(4, 2.0), steps=500)
    put(ranked, tiny, "d", BOREDOM, 1, np.full(4, 2.0), steps=2_000_000)
    record(ranked / "d" / "d__Boredom-v0__v1__seed1.json", "mismatch")
    tables = L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny, figures=False)
    rows = read_csv(tmp_path / "out")
    assert "| 1 | b | 1† | 0.500 [0.500, 0.500] | 0.500 [0.500, 0.500] | 0.500 | 0.70 [0.50, 0.90] | a | – | yes |" in tables
    assert "| 2 | a | 5 | 0.358 [" in tables and tables.split("| 2 | a | 5 | 0.358 [")[1].split("\n")[0].endswith("| b | 1,000 | 2 of 10 |")
    assert "| c | 5 | 9.00 [9.00, 9.00] | 0.900 [0.900, 0.900] | 1,000 | ≈ |" in tables
    assert "| d | 2 | 2.00 [2.00, 2.00] | 0.200 [0.200, 0.200] | 500–2,000,000 | rerun differs |" in tables
    assert (rows["overall", "overall", "b"]["train_steps"], rows["overall", "overall", "b"]["verification"]) == ("", "yes")
    a = rows["env", BOREDOM, "a"]
    assert (a["train_steps"], a["verified_runs"], a["verification"]) == ("1000", "1", "1 of 5")
    assert rows["overall", "overall", "a"]["verified_runs"] == "2" and rows["env", BOREDOM, "d"]["train_steps"] == "2000000"
    # a record of another result (the file was replaced after the rerun) does not count
    put(ranked, tiny, "b", BOREDOM, None, np.full(4, 5.5))
    L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny, figures=False)
    assert read_csv(tmp_path / "out")["env", BOREDOM, "b"]["verification"] == "no"


def test_only_records_in_the_maintainers_directory_count(tmp_path, tiny, ranked, capsys):
    boredom = ranked / "b" / "b__Boredom-v0__v1__seed-none.json"
    in_verified = record(boredom, "exact")
    assert in_verified == tmp_path / "verified" / "b" / "b__Boredom-v0__v1__seed-none.verification"
    among_results = boredom.with_suffix(".verification")
    shutil.copyfile(in_verified, among_results)  # an intact record of this very result, committed by its submitter
    in_verified.unlink()
    L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny, figures=False)
    assert read_csv(tmp_path / "out")["env", BOREDOM, "b"]["verification"] == "no"

    maintainers = tmp_path / "maintainers"
    record(boredom, "exact", maintainers)
    L.write_leaderboard([ranked], tmp_path / "out", protocol=tiny, figures=False, verified=maintainers)
    rows = read_csv(tmp_path / "out")
    assert (rows["env", BOREDOM, "b"]["verification"], rows["env", COLD, "b"]["verification"]) == ("yes", "no")


def test_command_reads_records_from_the_verified_directory_it_is_given(tmp_path, capsys):
    results, out, maintainers = tmp_path / "submitted", tmp_path / "out", tmp_path / "maintainers"
    v1 = P.load_protocol("v1")
    paths = [put(results, v1, "fixed", BOREDOM, seed, np.full(500, 80.0 + seed)) for seed in SEEDS]
    record(paths[0], "exact", maintainers)
    assert cli.main(["leaderboard", str(results), "--out", str(out), "--no-figures"]) == 0  # no results/ above: nothing verified
    assert read_csv(out)["env", BOREDOM, "fixed"]["verification"] == "no"
    assert cli.main(["leaderboard", str(results), "--out", str(out), "--no-figures", "--verified", str(maintainers)]) == 0
    capsys.readouterr()
    assert read_csv(out)["env", BOREDOM, "fixed"]["verification"] == f"1 of {len(SEEDS)}"
    markdown = (out / "LEADERBOARD.md").read_text(encoding="utf-8")
    assert f"Generated by `recsim-bench leaderboard {results} --out {out} --verified {maintainers} --no-figures`" in markdown
