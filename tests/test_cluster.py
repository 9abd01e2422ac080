"""Runs on a Dask cluster (a LocalCluster over loopback) give the records, journals and reports of
a run without one; a worker killed mid-run loses nothing and counts nothing twice; a port that
kills its process gets the verdict it gets locally; an unreachable scheduler is refused (exit 2)
before any work; without ``--cluster`` Dask is not imported."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ees_theory import harness as cf
from ees_theory.cli import main as cli_main
from ees_theory.harness import Case, InProcessPort, open_port, run_check
from ees_theory.running import cluster

ROOT = Path(__file__).resolve().parents[1]


def without_timing(records):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in records]


def journal_lines(path):
    # what differs between two runs of one plan: the start time and each case's timing
    out = []
    for line in Path(path).read_text().splitlines():
        obj = json.loads(line)
        obj.pop("started", None)
        obj.pop("elapsed_s", None)
        out.append(obj)
    return out


@pytest.fixture(scope="module")
def client():
    before = os.getcwd()
    os.chdir(ROOT)  # the workers import Python ports from the working directory, as a local run does
    try:
        with cluster.cluster_client("local:2") as c:
            yield c
    finally:
        os.chdir(before)


def _started_by_the_fork_server() -> bool:
    import psutil

    return "forkserver" in " ".join(psutil.Process(os.getppid()).cmdline())


def test_local_workers_are_forks_of_a_server_that_imported_the_judges(client):
    # a fresh interpreter per worker would import torch, mpmath and the judges again (seconds of CPU each)
    assert set(client.run(_started_by_the_fork_server).values()) == {True}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_plain_run_does_not_import_dask():
    code = ("import sys; from ees_theory.cli import main; rc = main(['check', 'builtin', '-m', 'ees', '-n', '3', '--quiet', '--workers', '1']);"
            "print('dask imported' if {'distributed', 'dask'} & set(sys.modules) else 'no dask', rc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.stdout.strip().splitlines()[-1] == "no dask 0", r.stderr[-2000:]


def test_addresses_are_checked_before_anything():
    assert cluster.parse_address("tcp://127.0.0.1:8786") == ("remote", "tcp://127.0.0.1:8786")
    for bad in ("local:0", "local:two", "127.0.0.1:8786", "http://host:80", ""):
        with pytest.raises(ValueError, match="--cluster"):
            cluster.parse_address(bad)
    with pytest.raises(TypeError, match="--cluster expects a string"):
        cluster.parse_address(2)


def test_unreachable_scheduler_exits_2_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    out = tmp_path / "r.jsonl"
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    rc = cli_main(["check", "builtin", "-m", "ees", "-n", "3", "--json", str(out), "--cluster", address])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"cannot reach the Dask scheduler at {address}" in err and "Traceback" not in err
    assert not out.exists()  # refused before the journal was opened
    assert cli_main(["check", "builtin", "-n", "3", "--cluster", "local:0"]) == 2
    assert "worker processes N >= 1" in capsys.readouterr().err
    assert cli_main(["check", "builtin", "-n", "3", "--port-on", "client"]) == 2
    assert "give --cluster" in capsys.readouterr().err
    assert cli_main(["check", "builtin", "-m", "top-k", "--draws", "10", "--cluster", "local:1"]) == 2
    assert "--cluster does not run --draws" in capsys.readouterr().err


@pytest.mark.parametrize("port_on", ["workers", "client"])
def test_records_journal_and_report_equal_a_local_run(client, tmp_path, port_on):
    cases = cf.plan("top-p", "float32", vectors=True, examples=40, seed=5)
    local = run_check(open_port("builtin", "top-p", "float32"), "top-p", "float32", cases, workers=1, journal=tmp_path / "a.jsonl")
    stats = {}
    real = cluster.judge_on_cluster

    def spy(*args, **kw):
        return real(*args, **kw, stats=stats)

    try:
        cluster.judge_on_cluster = spy
        remote = run_check(open_port("builtin", "top-p", "float32"), "top-p", "float32", cases, executor=client, port_on=port_on,
                           journal=tmp_path / "b.jsonl")
    finally:
        cluster.judge_on_cluster = real
    assert len(local.records) == len(cases) and stats["tasks"] > 1  # the work really was cut into tasks
    assert without_timing(remote.records) == without_timing(local.records)
    assert journal_lines(tmp_path / "b.jsonl") == journal_lines(tmp_path / "a.jsonl")
    assert remote.text().replace("b.jsonl", "a.jsonl") == local.text()


class _JoinsAfter:
    """Stands for a local cluster's workers that join after ``calls`` port calls were judged here."""

    def __init__(self, calls):
        self.left = calls

    def ready(self):
        self.left -= 1
        return self.left < 0

    def wait(self):
        pass


@pytest.mark.parametrize("joins_after", [3, 10**6])
def test_cases_are_judged_here_while_the_workers_join(client, tmp_path, monkeypatch, joins_after):
    # the first port calls judged in this process, the rest (if any) on the workers: one journal, in plan order
    cases = cf.plan("top-p", "float32", vectors=True, examples=30, seed=6)
    local = run_check(open_port("builtin", "top-p", "float32"), "top-p", "float32", cases, workers=1, journal=tmp_path / "a.jsonl")
    stats = {}
    real = cluster.judge_on_cluster
    monkeypatch.setattr(cluster, "judge_on_cluster", lambda *args, **kw: real(*args, **kw, stats=stats))
    monkeypatch.setitem(cluster._JOINING, id(client), _JoinsAfter(joins_after))
    remote = run_check(open_port("builtin", "top-p", "float32"), "top-p", "float32", cases, executor=client, journal=tmp_path / "b.jsonl")
    if joins_after == 3:
        assert 3 <= stats["here"] < len(cases) and stats["tasks"] >= 1
    else:  # the workers never joined: all judged here, no task
        assert stats["here"] == len(cases) and stats["tasks"] == 0
    assert without_timing(remote.records) == without_timing(local.records)
    assert journal_lines(tmp_path / "b.jsonl") == journal_lines(tmp_path / "a.jsonl")


def test_workers_that_do_not_start_are_a_cluster_error():
    class NeverJoins:
        def wait_for_workers(self, n, timeout):
            raise TimeoutError(f"{n} workers not there")

    joining = cluster._Joining(NeverJoins(), 2, 1.0)
    with pytest.raises(cluster.ClusterError, match="the 2 workers of the local cluster did not all start within 1 s"):
        joining.wait()
    assert joining.ready()


def test_resume_on_the_cluster_continues_a_local_journal(client, tmp_path):
    cases = cf.plan("ees", "float64", vectors=True, examples=30, seed=4)
    full = tmp_path / "full.jsonl"
    run_check(open_port("builtin", "ees", "float64"), "ees", "float64", cases, workers=1, journal=full)
    lines = full.read_text().splitlines(keepends=True)
    part = tmp_path / "part.jsonl"
    part.write_text("".join(lines[:12]))  # the header and 11 cases: a run stopped there
    run_check(open_port("builtin", "ees", "float64"), "ees", "float64", cases, executor=client, journal=part, resume=True)
    assert journal_lines(part) == journal_lines(full)


def test_failures_are_shrunk_on_the_workers_as_here(client, tmp_path):
    # a mutant port (it keeps the crossing token): failures, each shrunk by calling the port again
    cases = cf.plan("ees", "float64", vectors=True, examples=20, seed=2)
    spec = "tests.meta.mutant_ports:ees_crossing_included"
    local = run_check(open_port(spec, "ees", "float64"), "ees", "float64", cases, workers=1)
    remote = run_check(open_port(spec, "ees", "float64"), "ees", "float64", cases, executor=client)
    assert local.failures and any("shrunk" in f for f in remote.failures)
    assert without_timing(remote.records) == without_timing(local.records)


def test_a_port_that_kills_its_process_gets_the_local_verdict(client):
    # the misbehaving port exits on 6-token rows, raises on 3-token rows, answers right otherwise
    sizes = [8, 6, 8, 3, 10, 6, 8]
    cases = [Case(f"c{v}-{i}", "ees", "hand", np.linspace(1.0, -1.0, v), {"temperature": 1.0}) for i, v in enumerate(sizes)]
    spec = "tests.ports.misbehaving_port:ees"
    local = run_check(open_port(spec, "ees", "float64", timeout=20), "ees", "float64", cases, shrink=False)
    remote = run_check(open_port(spec, "ees", "float64", timeout=20), "ees", "float64", cases, shrink=False, executor=client)
    assert [(r["status"], r["fault"]) for r in local.records] == [
        ("pass", None), ("fail", "crashed"), ("pass", None), ("fail", "raised"), ("pass", None), ("fail", "crashed"), ("pass", None)]
    assert without_timing(remote.records) == without_timing(local.records)
    assert "exited with status 7" in remote.records[1]["message"]


def test_a_worker_killed_mid_run_loses_nothing(client, tmp_path):
    cases = cf.plan("ees", "float64", vectors=True, examples=90, seed=7)
    local = run_check(open_port("builtin", "ees", "float64"), "ees", "float64", cases, workers=1, journal=tmp_path / "l.jsonl")
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = []

    def progress(done, total):
        # the first records are in: the other tasks are queued or running on both workers
        if done > 0 and not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    remote = run_check(open_port("builtin", "ees", "float64"), "ees", "float64", cases, executor=client, journal=tmp_path / "k.jsonl",
                       progress=progress)
    assert killed and killed[0] < len(cases) / 2
    assert without_timing(remote.records) == without_timing(local.records)
    ids = [line["case"] for line in journal_lines(tmp_path / "k.jsonl") if line.get("kind") == "case"]
    assert ids == [c.id for c in cases]  # each case once, in plan order
    client.wait_for_workers(2, timeout=120)  # the nanny starts a new worker in its place
    assert victim not in client.run(os.getpid).values()


def test_cli_report_is_the_same_with_and_without_the_cluster(tmp_path):
    def run(*extra):
        cmd = [sys.executable, "-m", "ees_theory", "check", "builtin", "-m", "top-p", "-n", "30", "--workers", "1", *extra]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)

    plain, spread = run(), run("--cluster", "local:1")
    assert plain.returncode == spread.returncode == 0, spread.stderr[-2000:]
    assert spread.stdout == plain.stdout and "CONFORMS" in plain.stdout


def test_a_running_scheduler_by_its_address(client, capsys):
    args = ["check", "builtin", "-m", "min-p", "-n", "12", "--workers", "1"]
    assert cli_main(args) == 0
    plain = capsys.readouterr().out
    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    assert cli_main(args + ["--cluster", address]) == 0
    assert capsys.readouterr().out == plain


def test_stress_runs_on_the_cluster(tmp_path):
    def run(out, *extra):
        cmd = [sys.executable, "-m", "ees_theory", "stress", "--impl", "float16:input", "--vocab", "64", "-n", "20", "--no-progress",
               "--workers", "1", "--out", str(out), *extra]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)

    plain, spread = run(tmp_path / "a.jsonl"), run(tmp_path / "b.jsonl", "--cluster", "local:1")
    assert spread.returncode == plain.returncode, spread.stderr[-2000:]
    assert spread.stdout.replace("b.jsonl", "a.jsonl") == plain.stdout
    assert journal_lines(tmp_path / "b.jsonl") == journal_lines(tmp_path / "a.jsonl")


def test_api_refusals(client):
    port = InProcessPort(lambda z, t: z == z.max(), "argmax")
    cases = cf.plan("ees", "float64", vectors=False, examples=2)
    with pytest.raises(ValueError, match="not opened by open_port"):
        run_check(port, "ees", "float64", cases, executor=client)
    with pytest.raises(ValueError, match="port_on must be one of workers, client"):
        run_check(port, "ees", "float64", cases, executor=client, port_on="gpu")
    with pytest.raises(TypeError, match="executor must be a distributed.Client"):
        run_check(port, "ees", "float64", cases, executor=object())
    # a port the workers cannot open: an error naming the worker, before any case
    missing = open_port("exec:/nonexistent/port-program", "ees", "float64")
    with pytest.raises(cluster.ClusterError, match="not found there"):
        run_check(missing, "ees", "float64", cases, executor=client)


# ---- the claims search, the minimality search and the engine matrix on the cluster -----------------

def test_plain_claims_minimality_and_engines_do_not_import_dask():
    code = ("import sys; from ees_theory.cli import main; from ees_theory.ledger import minimality as M;"
            "a = main(['claims', '--claim', 'EES-MONO']); b = len(M.search_size(5));"
            "c = main(['engines', '--engine', 'torch.multinomial', '-m', 'top-k', '--dtype', 'float32', '-n', '0']);"
            "print('dask imported' if {'distributed', 'dask'} & set(sys.modules) else 'no dask', a, b, c)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.stdout.strip().splitlines()[-1] == "no dask 0 3 0", r.stderr[-2000:]


def test_unreachable_scheduler_refuses_claims_engines_and_minimality(monkeypatch, capsys):
    from ees_theory.ledger import minimality

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    address = f"tcp://127.0.0.1:{_free_port()}"
    calls = []
    monkeypatch.setattr(minimality, "build_certificate", lambda **kw: calls.append(kw))  # work that must not start
    for argv in (["claims", "--search", "--cluster", address], ["engines", "-e", "torch.multinomial", "--cluster", address]):
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert f"cannot reach the Dask scheduler at {address}" in err and "Traceback" not in err
    assert minimality.main(["--cluster", address]) == 2
    assert f"cannot reach the Dask scheduler at {address}" in capsys.readouterr().err
    assert minimality.main(["--cluster", "local:0"]) == 2 and calls == []
    assert cli_main(["claims", "--cluster", "10.0.0.5"]) == 2
    assert "--cluster expects tcp://HOST:PORT" in capsys.readouterr().err


def _verdicts(vs):
    return [dict(v.to_json(), seconds=None) for v in vs]


def test_claims_search_is_the_same_on_the_cluster(client):
    from ees_theory.ledger import claims

    ids = ["EES-MONO", "EES-TAU-INV", "SEED-TAU", "EES-EXIST", "TOPP-TAU-MONO"]
    here = claims.run_ledger(search=True, ids=ids, rows=6, seed=3)
    spread = claims.run_ledger(search=True, ids=ids, rows=6, seed=3, executor=client)
    assert _verdicts(spread) == _verdicts(here)
    assert [v.verdict for v in here] == ["refuted", "refuted", "refuted", "proved", "proved"]
    assert "search: found n=3" in here[0].evidence and "6 rows" in here[4].evidence


def test_search_pieces_on_the_cluster_give_the_first_hit_of_a_serial_search(client):
    # a stand-in certify that accepts rows of 5 or more candidates: the first hit is the first climb
    # of size 5, after 2 sizes x 3 climbs that fail, and later climbs run ahead on the cluster
    from ees_theory.ledger import search
    from ees_theory.ledger.registry import CheckContext, Counterexample

    def certify(z):
        return Counterexample([float(x).hex() for x in z], len(z), [1.0], {}, "stand-in", [], True) if len(z) >= 5 else None

    def score(z):
        return float(z[1] - z[0])  # <= 0: every pooled row is climbed first

    def ctx(run):
        return CheckContext(True, 6, np.random.default_rng(11), {}, run)

    here = search.search_counterexample(score, certify, ctx(None), range(3, 9), 5, 3, 30)
    spread = search.search_counterexample(score, certify, ctx(lambda fn, calls: cluster.map_in_order(client, fn, calls)), range(3, 9), 5, 3, 30)
    assert here[1] == spread[1] == 7 and here[0].n == 5
    assert here[0].logits == spread[0].logits


def _pairs(results):
    # everything a search gives but its seconds
    return [(dict(r.summary(), seconds=None), [lvl.tolist() for lvl in r.levels], [m.tolist() for m in r.margins], r.survivor_boxes,
             r.feasible_boxes) for r in results]


def test_minimality_search_is_the_same_on_the_cluster(client, tmp_path):
    from ees_theory.ledger import minimality as M

    assert _pairs(M.search_size(6, executor=client)) == _pairs(M.search_size(6))
    # size 7: each pair's boxes cut into groups of sub-boxes at its first level of 8 or more boxes
    todo = [(7, 4, 6), (7, 3, 6)]
    assert _pairs(M.search_pairs(todo, executor=client, groups=8)) == _pairs(M.search_pairs(todo))
    for budget in (40, 3000):  # the box budget runs out within the sub-boxes' levels
        cut = M.search_pairs([(7, 4, 6)], executor=client, groups=8, max_boxes=budget)
        assert not cut[0].complete and _pairs(cut) == _pairs([M.search_pair(7, 4, 6, max_boxes=budget)])
    # the certificate's bytes, the seconds apart; and its trees are the committed ones
    committed = {(p["n"], p["i"], p["j"]): p for p in M.load_certificate()["pairs"]}
    files = []
    for name, executor in (("here", None), ("spread", client)):
        cert = M.build_certificate((4, 5, 6), executor=executor)
        cert["search"]["seconds"] = 0
        files.append(M.write_certificate(cert, tmp_path / f"{name}.json.gz").read_bytes())
        assert len(cert["pairs"]) == 10 and all(p == committed[(p["n"], p["i"], p["j"])] for p in cert["pairs"])
    assert files[0] == files[1]


def test_engine_matrix_json_is_the_same_on_the_cluster(client, tmp_path):
    args = ["engines", "--engine", "torch.multinomial", "-m", "top-k", "--dtype", "float32", "-n", "2"]
    assert cli_main(args + ["--json", str(tmp_path / "a.jsonl")]) == 0
    assert cli_main(args + ["--json", str(tmp_path / "b.jsonl"), "--cluster", client.scheduler.address]) == 0
    a, b = (tmp_path / "a.jsonl").read_text(), (tmp_path / "b.jsonl").read_text()
    assert a == b and json.loads(a)["verdict"] == "conforms"
