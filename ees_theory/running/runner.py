"""Running a port over cases: judging, shrinking failures, the results journal and the report.

Results go to a JSON Lines *journal* as they come: a header (what is checked, how, and a
fingerprint of the planned cases), one line per case, and a summary line at the end. With
``resume=True`` a journal whose header matches is continued: recorded cases are kept and skipped,
a torn last line (a run killed mid-write) is dropped, and the run goes on from there, so no case is
lost or repeated.

>>> from ees_theory.running.ports import InProcessPort
>>> from ees_theory.running.cases import Case
>>> def top1(z, t):
...     m = np.zeros(z.shape, bool); m[np.argmax(z)] = True; return m
>>> cases = [Case("a", "ees", "hand", np.array([2.0, 1.0, 0.0]), {"temperature": 1.0}),
...          Case("b", "ees", "hand", np.array([0.0, 0.0]), {"temperature": 1.0})]
>>> report = run_check(InProcessPort(top1, "top1"), "ees", "float64", cases, shrink=False)
>>> [(r["case"], str(r["status"]), r["fault"]) for r in report.records]
[('a', 'pass', None), ('b', 'fail', 'non-strict')]
>>> report.ok
False
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as _dt
import hashlib
import importlib.metadata
import json
import math
import multiprocessing
import os
import shlex
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .cases import Case, CaseRecord, params_to_json, port_batches
from ..spec.formats import hex_list
from ..spec.methods import DEFAULT_RULE
from ..judging.methods import METHODS, OPTION_FLAGS, Options, OutputFault, Verdict, get_method, note_half_storage
from ..judging.outcomes import JUDGED, Grade, Status
from .capabilities import check_unsupported, skip_reason, without_params
from .ports import Outcome, Port, port_identity, scheme_of
from .shrink import shrink_case

__all__ = ["run_check", "Report", "JudgedRun", "Journal", "repro_line", "fingerprint", "judge_workers", "JOURNAL_FORMAT"]

JOURNAL_FORMAT = "ees-theory-results/1"
#: the journal of a run judged by draws (``ees_theory.running.draws``): same lines, other records
DRAWS_JOURNAL_FORMAT = "ees-theory-draws/2"
#: what each journal format records, for refusing to resume one form's journal with the other
JOURNAL_FORMS = {JOURNAL_FORMAT: "a mask-form run (check without --draws)", DRAWS_JOURNAL_FORMAT: "a draws run (check --draws)",
                 "ees-theory-draws/1": "a draws run of an older format (it cannot be resumed)"}
#: a failing case's logits are stored in the journal up to this vocabulary size
STORE_LOGITS_MAX = 4096
#: reproduction lines longer than this are left to the JSON results instead of the printed report
REPRO_PRINT_MAX = 1500


def case_line(record: dict) -> str:
    """A case record as its journal line.

    >>> case_line({"case": "a", "severity": float("inf")})
    '{"case":"a","severity":"inf","kind":"case"}'
    """
    return json.dumps(_jsonable(dict(record, kind="case")), separators=(",", ":"))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def fingerprint(cases: Iterable[Case]) -> str:
    """A short hash of the planned cases (ids, parameters and logits), to match a journal.

    >>> fingerprint([]) == fingerprint([])
    True
    """
    h = hashlib.sha256()
    for c in cases:
        h.update(c.to_line().encode())
    return h.hexdigest()[:16]


def repro_line(port_spec: str, case: Case, dtype: str, options: Options, *, draws: int | None = None, seed: int | None = None) -> str:
    """A shell line that re-runs exactly this case against ``port_spec`` (judged by ``draws`` token
    draws from ``seed`` when given, else by the kept mask).

    Parameters
    ----------
    port_spec : str
        The port's name as ``ees-theory check`` takes it (shell-quoted in the line).
    case : Case
        The case; its logits and parameters are written as exact hex floats.
    dtype : str
        The dtype the case was run in.
    options : Options
        Judging options; only the fields that differ from their defaults are written.
    draws : int or None
        Judge by this many token draws (with ``seed``) instead of by the kept mask.
    seed : int or None
        The seed of the draws (used with ``draws``).

    Returns
    -------
    str
        One ``ees-theory check ... --case '{...}'`` command.

    Examples
    --------
    >>> c = Case("x", "ees", "hand", np.array([1.0, 0.0]), {"temperature": 1.0})
    >>> repro_line("my.port:ees", c, "float32", Options())
    'ees-theory check my.port:ees --method ees --dtype float32 --case \\'{"logits":["0x1.0000000000000p+0","0x0.0p+0"],"params":{"temperature":"0x1.0000000000000p+0"}}\\''
    """
    payload = json.dumps({"logits": hex_list(case.logits), "params": params_to_json(case.params)}, separators=(",", ":"))
    parts = ["ees-theory", "check", shlex.quote(port_spec), "--method", case.method, "--dtype", dtype]
    if draws is not None:
        parts += ["--draws", str(draws), "--draw-seed", str(seed)]
    parts += option_arguments(options)
    parts += ["--case", shlex.quote(payload)]
    return " ".join(parts)


def option_arguments(options: Options) -> list[str]:
    """The ``ees-theory check`` arguments that give ``options``: the flag of each field that
    differs from its default, from :data:`~ees_theory.judging.methods.OPTION_FLAGS` (a switch
    alone, a list joined by commas), shell-quoted.

    >>> option_arguments(Options())
    []
    >>> option_arguments(Options(policy="llama.cpp", strict=True, unsupported=("min_tokens_to_keep",)))
    ['--policy', 'llama.cpp', '--strict', '--unsupported', 'min_tokens_to_keep']
    """
    default = Options()
    out: list[str] = []
    for name, flag in OPTION_FLAGS:
        value = getattr(options, name)
        if value == getattr(default, name):
            continue
        if isinstance(value, bool):
            out.append(flag)
        elif isinstance(value, tuple):
            out += [flag, shlex.quote(",".join(value))]
        else:
            out += [flag, shlex.quote(str(value))]
    return out


class Journal:
    """The append-only JSON Lines results file of one run (see the module docstring).

    On resume every line is checked before anything is trusted: the header must match this run,
    every later line must be a case record of a planned case (once) or the final summary, and the
    verdict of each recorded case is judged again from the port's recorded answer (``answer``),
    so an edited or forged status is refused, naming the file and line. ``check_line`` is the
    caller's re-judgement (``record -> problem or None``). A journal that already ends with a
    summary is a finished run: ``finished`` is set and no second summary is written.

    Parameters
    ----------
    path : str or pathlib.Path
        The results file (created with its folder; locked while the journal is open).
    header : dict
        What identifies the run (format, port, method, dtype, options, plan fingerprint); the
        toolkit's version and the port's identity are added.
    resume : bool
        Read the records already in ``path`` and go on after them (default False: start afresh).
    check_line : callable or None
        ``record -> problem or None``: re-judges each recorded case on resume.
    planned : set of str or None
        The ids of the planned cases; a recorded id outside them is refused.
    extra_ids : set of str
        Further ids a record may have (the hypothesis search's case).

    Raises
    ------
    ValueError
        ``path`` is a directory or not a regular file, or (on resume) a line that does not match
        this run, is not UTF-8, repeats a case or disagrees with its re-judgement.
    """

    def __init__(self, path: str | Path, header: dict, resume: bool = False, check_line: Callable[[dict], str | None] | None = None,
                 planned: set[str] | None = None, extra_ids: set[str] = frozenset()):
        self.path = Path(path)
        # who writes: the toolkit's version and a digest of the port's files, so that resuming
        # with another port or toolkit is refused (an accidental mix-up; a journal proves nothing
        # about who wrote it, see the README)
        self.header = dict(header, toolkit=toolkit_version(), port_identity=port_identity(str(header.get("port", ""))))
        self.records: list[dict] = []
        self.finished: dict | None = None
        self.appended = False
        self.check_line = check_line
        self.planned = planned
        self.extra_ids = set(extra_ids)
        if self.path.is_dir():
            raise ValueError(f"results file {self.path} is a directory")
        if self.path.exists() and not self.path.is_file():
            raise ValueError(f"results file {self.path} is not a regular file (a FIFO, a device or a socket)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _JournalLock(self.path)  # before anything is read or truncated
        try:
            if resume and self.path.exists() and self.path.stat().st_size:
                self._load()
            else:
                with open(self.path, "w", encoding="utf-8") as fh:
                    fh.write(json.dumps(dict(self.header, kind="header")) + "\n")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Let go of the file's lock (another run may then write it); :meth:`finish` does it too."""
        self._lock.release()

    def _refuse(self, lineno: int, why: str) -> ValueError:
        return ValueError(f"{self.path} line {lineno}: {why}; this journal cannot be resumed (write to another file)")

    def _load(self) -> None:
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):  # a torn last line: the run was killed mid-write
            raw = raw[: raw.rfind(b"\n") + 1]
            with open(self.path, "wb") as fh:
                fh.write(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{self.path} is not UTF-8 text ({exc}); this journal cannot be resumed") from None
        lines = [(i, ln) for i, ln in enumerate(text.split("\n"), 1) if ln.strip()]
        if not lines:
            with open(self.path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(dict(self.header, kind="header")) + "\n")
            return
        parsed = []
        for i, ln in lines:
            try:
                obj = json.loads(ln)
            except (ValueError, RecursionError):
                raise self._refuse(i, "not a JSON line") from None
            if not isinstance(obj, dict):
                raise self._refuse(i, "not a JSON object")
            parsed.append((i, obj))
        i, head = parsed[0]
        if head.get("kind") == "header" and head.get("format") != self.header.get("format"):
            theirs = JOURNAL_FORMS.get(head.get("format"), f"format {str(head.get('format'))[:60]!r}")
            raise ValueError(f"{self.path} records {theirs}, not {JOURNAL_FORMS.get(self.header.get('format'), 'this run')}; "
                             "resume it with the command that wrote it, or write to another file")
        keys = ("format", "port", "method", "dtype", "options", "plan", "toolkit", "port_identity")
        diff = [k for k in keys if head.get(k) != self.header.get(k)]
        if head.get("kind") != "header" or diff:
            raise ValueError(
                f"{self.path} was written by a different run ({', '.join(diff) or 'no header'} differ); "
                "resume with the same port (its files unchanged), method, dtype, options and toolkit version, or write to another file"
            )
        seen: set[str] = set()
        for i, obj in parsed[1:]:
            kind = obj.get("kind")
            if kind == "summary":
                missing = len(self.planned - seen) if self.planned is not None else 0
                if missing:
                    raise self._refuse(i, f"a summary while {missing} planned case(s) are not recorded")
                self.finished = obj
                continue
            if kind != "case":
                raise self._refuse(i, f"unknown line kind {str(kind)[:40]!r} (expected a case record or the summary)")
            cid = obj.get("case")
            if not isinstance(cid, str):
                raise self._refuse(i, "a case record without a case id")
            if self.finished is not None and cid not in self.extra_ids:
                raise self._refuse(i, "a case record after the run's summary")
            if cid in self.extra_ids:
                # a search's failure can only make the verdict worse; a pass cannot be judged
                # again from the file, so the search runs again when asked for
                if obj.get("status") == Status.FAILED and cid not in seen:
                    seen.add(cid)
                    self.records.append(obj)
                continue
            if self.planned is not None and cid not in self.planned:
                raise self._refuse(i, f"case {cid[:80]!r} is not in this run's plan")
            if cid in seen:
                raise self._refuse(i, f"case {cid[:80]!r} recorded twice")
            problem = self.check_line(obj) if self.check_line else None
            if problem:
                raise self._refuse(i, problem)
            seen.add(cid)
            self.records.append(obj)

    @property
    def done(self) -> set[str]:
        """Ids of the cases already recorded."""
        return {r["case"] for r in self.records}

    def append(self, record: dict) -> None:
        """Record one case (written and flushed at once).

        Parameters
        ----------
        record : dict
            The case's record: its case, answer and verdict, encoded by ``case_line``.
        """
        line = case_line(record)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.records.append(json.loads(line))
        self.appended = True

    def extend(self, lines: list[str]) -> None:
        """Record several cases, given as their ``case_line`` (encoded where they were
        judged: a cluster's workers), with one write and one flush to disk: a journal written
        and encoded case by case would bound a large cluster by this process.

        Parameters
        ----------
        lines : list of str
            One JSON line per case, each as ``case_line`` wrote it (no newline).
        """
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
            fh.flush()
            os.fsync(fh.fileno())
        self.records.extend(json.loads(line) for line in lines)
        self.appended = True

    def finish(self, summary: dict) -> None:
        """Append the summary line, unless the run was finished and nothing was added since
        (a finished run is not summarised twice), and let go of the file's lock.

        Parameters
        ----------
        summary : dict
            The run's summary (counts by verdict, coverage, ...), JSON-encodable; it is written
            with ``kind: "summary"``.
        """
        try:
            if self.finished is not None and not self.appended:
                return
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(_jsonable(dict(summary, kind="summary"))) + "\n")
            self.finished = summary
        finally:
            self.close()


class _JournalLock:
    """An exclusive ``flock`` on a journal for the life of its run: a second run on the same file
    is refused at once instead of interleaving its lines. Without ``fcntl`` (not POSIX) there is
    no lock. Released by :meth:`release`, or when the process ends."""

    def __init__(self, path: Path):
        self.fd: int | None = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ValueError(f"results file {path} is being written by another run (it holds the file's lock); "
                             "wait for that run, or write to another file") from None
        self.fd = fd
        self._finalizer = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        if self.fd is not None:
            self.fd = None
            self._finalizer()  # closes the descriptor, which drops the lock


def toolkit_version() -> str:
    """The installed toolkit's version (recorded in journals).

    >>> toolkit_version() != ""
    True
    """
    try:
        return importlib.metadata.version("ees_theory")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        return "unknown"


class JudgedRun:
    """What the mask and the draws reports share: their failed records and the exit verdict (a
    run that judged nothing is no verdict). Subclasses hold ``records`` and ``counts()``."""

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.records if r["status"] == Status.FAILED]

    @property
    def ok(self) -> bool:
        """True when at least one case was judged and none failed (the exit status 0)."""
        return self.counts()["cases"] > 0 and not self.failures


@dataclass
class Report(JudgedRun):
    """The outcome of a run: per-case records, skipped cases, and how to print them.

    Parameters
    ----------
    port : str
        The port's name.
    method : str
        The method checked.
    dtype : str
        The dtype checked.
    options : Options
        The judging options of the run.
    records : list of dict
        One JSON-ready record per judged case, in plan order (``status``, ``case``, ``family``,
        ``fault``, ``severity``, ``details``, ...).
    skipped : list of dict
        ``{"case", "family", "reason"}`` for each case not judged (default none).
    journal : str or None
        The results file, if the run wrote one.
    shares_process : bool
        Whether the port ran in the judge's own process (default False).
    """

    port: str
    method: str
    dtype: str
    options: Options
    records: list[CaseRecord]
    skipped: list[dict] = field(default_factory=list)
    journal: str | None = None
    #: the port was a Python port called in the judge's own process (``--in-process``)
    shares_process: bool = False

    def counts(self) -> dict[str, int]:
        c = defaultdict(int)
        for r in self.records:
            c[r["status"]] += 1
            c["uncertified"] += 0 if r.get("certified", True) else 1
        judged = len(self.records) - c[Status.SKIPPED]
        ties = sum(1 for r in self.records if r["status"] == Status.ADMISSIBLE and (r.get("details") or {}).get("category") == "exact-tie")
        return {"cases": judged, "passed": c[Status.PASSED], "admissible": c[Status.ADMISSIBLE], "failed": c[Status.FAILED],
                "uncertified": c["uncertified"] - c[Status.SKIPPED], "skipped": len(self.skipped) + c[Status.SKIPPED], "exact_ties": ties}

    def by_family(self) -> dict[str, dict]:
        fams: dict[str, list[dict]] = defaultdict(list)
        for r in self.records:
            if r["status"] != Status.SKIPPED:
                fams[r["family"]].append(r)
        out = {}
        for fam in sorted(fams):
            rs = fams[fam]
            fails = [r for r in rs if r["status"] == Status.FAILED]
            pool = fails or rs

            def sev(r):
                s = r.get("severity")
                return math.inf if s is None or s == "inf" else float(s)

            worst = max(pool, key=sev)
            out[fam] = {
                "cases": len(rs),
                "passed": sum(r["status"] == Status.PASSED for r in rs),
                "admissible": sum(r["status"] == Status.ADMISSIBLE for r in rs),
                "failed": len(fails),
                "uncertified": sum(not r.get("certified", True) for r in rs),
                "worst": worst["case"],
                "worst_severity": sev(worst),
                "worst_fault": worst.get("fault"),
            }
        return out

    def summary(self) -> dict:
        """JSON-ready totals, per-family rows and the verdict."""
        return {"port": self.port, "method": self.method, "dtype": self.dtype, "ok": self.ok, "totals": self.counts(), "families": self.by_family()}

    def table(self) -> str:
        """The per-family table: cases, passed, admissible, failed, uncertified, worst case."""
        rec = get_method(self.method).record
        sev_name = "err/tol" if rec.form == "temperature" else "bound/margin" if "rule" in rec.options else "1 = inside the bound"
        head = f"{'family':<16}{'cases':>6}{'passed':>8}{'admiss.':>8}{'failed':>7}{'uncert.':>8}  worst case ({sev_name})"
        lines = [head, "-" * len(head)]
        for fam, row in self.by_family().items():
            worst = f"{row['worst']} ({row['worst_severity']:.3g}{', ' + row['worst_fault'] if row['worst_fault'] else ''})"
            lines.append(f"{fam:<16}{row['cases']:>6}{row['passed']:>8}{row['admissible']:>8}{row['failed']:>7}{row['uncertified']:>8}  {worst}")
        t = self.counts()
        lines.append("-" * len(head))
        lines.append(f"{'total':<16}{t['cases']:>6}{t['passed']:>8}{t['admissible']:>8}{t['failed']:>7}{t['uncertified']:>8}")
        return "\n".join(lines)

    def text(self) -> str:
        """The full report: header, table, skipped cases, failures with their shrunk repro lines."""
        o = self.options
        out = [
            f"ees-theory check {self.port}  method={self.method} dtype={self.dtype} accumulate={o.accumulate}"
            + (f" rule={o.rule}" if "rule" in get_method(self.method).record.options else "")
            + (f" policy={o.policy}" if _shows_policy(get_method(self.method).record, o.policy) else "")
            + (" strict-ties" if o.strict_ties else "")
            + (" strict" if o.strict else "")
            + (f" unsupported={','.join(o.unsupported)}" if o.unsupported else ""),
            "",
            self.table(),
        ]
        refused = [r for r in self.records if r["status"] == Status.SKIPPED]
        if self.skipped or refused:
            reasons: dict[str, int] = defaultdict(int)
            for s in self.skipped:
                reasons[s["reason"]] += 1
            for r in refused:
                reasons["outside the domain (" + r["message"].split(": ", 1)[-1] + ")"] += 1
            out.append("")
            out.append(f"skipped {sum(reasons.values())} case(s): " + "; ".join(f"{n} {why}" for why, n in reasons.items()))
        if self.failures:
            out.append("")
            out.append("failures:")
            for r in self.failures[:20]:
                out.append(f"  [{r['fault']}] {r['case']} ({r['family']}, vocab {r['vocab']}): {r['message']}")
                s = r.get("shrunk")
                if s:
                    out.append(f"    shrunk to vocab {s['vocab']}: {s['message']}")
                line = (s or r).get("repro")
                if line and len(line) <= REPRO_PRINT_MAX:
                    out.append(f"    reproduce: {line}")
                elif line:
                    out.append(f"    reproduce: a {(s or r)['vocab']}-token case; the full line is in the JSON results ('repro')")
            if len(self.failures) > 20:
                out.append(f"  ... and {len(self.failures) - 20} more (see the JSON results)")
        t = self.counts()
        if t["exact_ties"]:
            out.append("")
            out.append(
                f"exact ties decided by rounding: {t['exact_ties']} case(s) (admissible): a comparison whose exact value is 0 "
                "(f(n) on a row uniform over n > 2 candidates) came out on the other side of 0 in the port's float evaluation. "
                "That is rounding, not a bug, unless the port uses '<=' (which the two-token uniform row would show); "
                "run with --strict to require the exact answer"
            )
        suspects = sum(1 for r in self.failures if r["fault"] == Grade.SUSPECT)
        if suspects:
            out.append("")
            out.append(
                f"suspect answers: {suspects} case(s) lie inside the rigorous {self.dtype} band but away from every careful "
                "implementation in the style set (ees_theory.errormodel.styles): no careful float code computes them on those rows. "
                "--bands rigorous accepts them"
            )
        cov = coverage(self.records, get_method(self.method).temperature_param if self.method in METHODS else "temperature")
        if cov:
            out.append("")
            out.append(cov)
        out.append("")
        if self.ok:
            ties = f", {t['exact_ties']} of them exact ties decided by rounding" if t["exact_ties"] else ""
            out.append(f"CONFORMS: {t['passed']} passed, {t['admissible']} admissible (inside the {self.dtype} error bounds{ties}), 0 failed")
        elif not self.records:
            out.append("NO VERDICT: no case was run")
        elif t["cases"] == 0:
            out.append("NO VERDICT: no case was judged (every case was skipped)")
        else:
            faults = defaultdict(int)
            for r in self.failures:
                faults[r["fault"]] += 1
            out.append(f"DOES NOT CONFORM: {t['failed']} failed (" + ", ".join(f"{k} x{n}" for k, n in faults.items()) + ")")
        if self.shares_process:  # the port could have rewritten the judge: say so on the verdict line
            out[-1] += " [in-process: the port ran inside the judge's process, so this is no evidence against a hostile port]"
        if self.journal:
            out.append(f"results: {self.journal}")
        return "\n".join(out)


def miss_probability(rows: int, rate: float) -> float:
    """The probability that ``rows`` independent generated rows all miss a fault that shows on a
    fraction ``rate`` of rows: ``(1 - rate) ** rows``.

    >>> round(miss_probability(460, 0.01), 4)
    0.0098
    """
    return (1.0 - rate) ** rows


def rows_for(rate: float, miss: float) -> int:
    """How many generated rows make a fault on a fraction ``rate`` of rows show with probability
    ``1 - miss``: the smallest ``N`` with ``(1 - rate) ** N <= miss``.

    >>> rows_for(0.01, 0.01)
    459
    """
    return math.ceil(math.log(miss) / math.log1p(-rate))


def coverage(records: list[dict], temperature_param: str = "temperature") -> str:
    """What a run could have missed: the generated rows judged, their vocabularies, temperatures
    and families, and the chance that a fault showing on 1%, 2% or 5% of rows went unseen.

    >>> print(coverage([{"case": "gen0-ees-float32-0000", "status": "pass", "vocab": 8, "family": "zipf", "params": {"temperature": 0.05}}]))
    coverage: 1 generated row judged (vocabularies 8 to 8, none above 1,000; temperatures 0.05 to 0.05; 1 families). A fault on 1% of rows goes unseen with probability 0.99, on 2%: 0.98, on 5%: 0.95; 459 rows find a 1% fault with probability 0.99 (--examples).
    """
    gen = [r for r in records if str(r.get("case", "")).startswith("gen") and r.get("status") in JUDGED]
    if not gen:
        return ""
    vocabs = [int(r["vocab"]) for r in gen if "vocab" in r]
    temps = []
    for r in gen:
        t = (r.get("params") or {}).get(temperature_param)
        if isinstance(t, (int, float)):
            temps.append(float(t))
    fams = {r.get("family") for r in gen}
    N = len(gen)
    big = sum(1 for v in vocabs if v > 1000)
    parts = [f"coverage: {N} generated row{'s' if N != 1 else ''} judged"]
    detail = []
    if vocabs:
        detail.append(f"vocabularies {min(vocabs)} to {max(vocabs)}, " + (f"{big} above 1,000" if big else "none above 1,000"))
    if temps:
        detail.append(f"temperatures {min(temps):g} to {max(temps):g}")
    detail.append(f"{len(fams)} families")
    miss = ", ".join(f"on {int(q * 100)}%: {miss_probability(N, q):.2g}" for q in (0.02, 0.05))
    return (
        parts[0] + " (" + "; ".join(detail) + "). "
        + f"A fault on 1% of rows goes unseen with probability {miss_probability(N, 0.01):.2g}, {miss}; "
        + f"{rows_for(0.01, 0.01)} rows find a 1% fault with probability 0.99 (--examples)."
    )


def _shows_policy(rec, policy: str) -> bool:
    """Whether a report's header names the policy: for a method judged under the engines'
    conventions (a sampler, a logit transform), and for a temperature method off its default."""
    if rec.form == "temperature":
        return len(rec.policies) > 1 and policy != "paper"
    return "rule" not in rec.options


def _stale(m, case: Case, ref: Any, options: Options) -> str | None:
    rec = m.record
    if case.expected is None or ("rule" in rec.options and options.rule != DEFAULT_RULE):
        return None
    if "policy" in case.expected and case.expected["policy"] != options.policy:
        return None  # a vector of another policy: judged afresh under this one
    if rec.form == "temperature" and options.policy == "finite-candidates":
        return None  # the dynatemp vectors hold llama.cpp's count of n
    now = m.expected_json(ref)
    keys = ("temperature",) if rec.form == "temperature" else ("k", "kept", "certified") if "rule" in rec.options else ("kept", "certified", "token", "mu")
    for k in keys:
        if now.get(k) != case.expected.get(k):
            return f"golden vector {case.id}: stored {k}={case.expected.get(k)!r}, reference now gives {now.get(k)!r}; run `ees-theory vectors regen`"
    return None


def run_check(
    port: Port,
    method: str,
    dtype: str,
    cases: list[Case],
    *,
    options: Options = Options(),
    port_spec: str | None = None,
    journal: str | Path | None = None,
    resume: bool = False,
    shrink: bool = True,
    skipped: list[dict] | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 32,
    hunt: int = 0,
    workers: int | str = 1,
    executor: Any = None,
    port_on: str = "workers",
) -> Report:
    """Judge ``port`` on ``cases`` in ``dtype``; see the module docstring for the journal.

    Cases of another method, or whose logits ``dtype`` cannot hold exactly, are skipped and
    counted (never silently dropped). ``hunt > 0`` adds a hypothesis search of that many inputs
    (``ees_theory.running.hunt.hunt``), recorded as one more case of family ``hunt``.
    ``workers`` processes judge the cases (see ``ees_theory.running.runner.judge_workers``); the records are the same
    whatever their number, in plan order. ``executor`` (a ``distributed.Client``) judges them on a
    Dask cluster instead, the port opened on its workers (``port_on="workers"``) or called here
    with only the judging sent out (``port_on="client"``); see ``ees_theory.running.cluster``.
    The records, the journal and the report are the same as without it.

    Parameters
    ----------
    port : Port
        The opened port.
    method : str
        A registered method.
    dtype : str
        ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    cases : list of Case
        The cases to run; those of another method are left out.
    options : Options
        How answers are judged (default ``Options()``); its policy must be one the method has.
    port_spec : str or None
        The port's name in the report and the repro lines (default the port's own name).
    journal : str, pathlib.Path or None
        A JSON Lines results file to write (default none).
    resume : bool
        Go on from the cases already in ``journal`` (default False).
    shrink : bool
        Shrink each failing case to a small input (default True).
    skipped : list of dict or None
        Skip records gathered before the run, reported with its own.
    progress : callable or None
        ``progress(done, total)``, called as cases finish.
    batch_size : int
        Rows per call of a batched port (default 32).
    hunt : int
        Inputs of a hypothesis search after the cases (default 0: none).
    workers : int or str
        Processes that judge, ``>= 1``, or ``"auto"`` (default 1).
    executor : object
        A ``distributed.Client`` to judge on a Dask cluster (default ``None``).
    port_on : str
        With ``executor``: ``"workers"`` (default) or ``"client"``, where the port is called.

    Returns
    -------
    Report
        The records in plan order, the skipped cases and the totals.

    Raises
    ------
    ValueError
        An unknown method, a policy the method does not have, a bad ``workers``, or a journal
        that cannot be written or resumed.

    Examples
    --------
    >>> from ees_theory.running.ports import InProcessPort
    >>> c = Case("tiny", "ees", "hand", np.array([0.1, 0.0]), {"temperature": 1.0})
    >>> r = run_check(InProcessPort(lambda z, t: z == z.max(), "argmax"), "ees", "float16", [c])
    >>> r.counts()
    {'cases': 0, 'passed': 0, 'admissible': 0, 'failed': 0, 'uncertified': 0, 'skipped': 1, 'exact_ties': 0}
    >>> r.ok                                  # 0.1 is not a float16 number: nothing was judged
    False
    """
    m = get_method(method)
    spec = port_spec or port.name
    skipped = list(skipped or [])
    m.check_policy(options.policy)
    unsupported = check_unsupported(method, options.unsupported)
    port = without_params(port, unsupported)
    plan = []
    for c in cases:
        if c.method != method:
            continue
        if dtype not in c.dtypes:
            skipped.append({"case": c.id, "family": c.family, "reason": f"not exactly representable in {dtype}"})
            continue
        why = skip_reason(method, c.row(dtype), c.params, unsupported)
        if why:  # a parameter the port does not have, or an answer that cannot matter
            skipped.append({"case": c.id, "family": c.family, "reason": why})
            continue
        plan.append(c)
    header = {
        "format": JOURNAL_FORMAT,
        "port": spec,
        "method": method,
        "dtype": dtype,
        "options": {"accumulate": options.accumulate, "rule": options.rule, "strict_ties": options.strict_ties, "policy": options.policy, "strict": options.strict,
                    **({"unsupported": list(unsupported)} if unsupported else {}),
                    # written when not the default, so journals of default runs keep their bytes
                    **({"bands": options.bands} if options.bands != Options().bands else {})},
        "plan": {"cases": len(plan), "fingerprint": fingerprint(plan)},
        "skipped": skipped,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    by_id = {c.id: c for c in plan}
    hunt_id = f"hunt-{method}-{dtype}"

    def replay(rec: dict) -> str | None:
        # the recorded verdict must be what the recorded answer is judged now
        c = by_id[rec["case"]]
        answer = rec.get("answer")
        if not isinstance(answer, dict):
            return f"case {c.id!r} has no recorded answer to judge"
        try:
            out = _outcome_from_answer(m, answer, c.vocab)
            again = _judge_case(m, port, spec, c, c.row(dtype), out, dtype, options, shrink=False)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            return f"case {c.id!r}: its recorded answer cannot be read ({exc})"
        for key in ("status", "fault"):
            if rec.get(key) != again.get(key):
                return f"case {c.id!r} is recorded with {key} {rec.get(key)!r} but its recorded answer is judged {again.get(key)!r}"
        # the report shows the verdict judged now, keeping only what cannot be judged again
        kept = {k: rec[k] for k in ("elapsed_s", "shrunk") if k in rec}
        rec.clear()
        rec.update(json.loads(json.dumps(_jsonable(dict(again, kind="case", **kept)))))
        return None

    log = Journal(journal, header, resume, check_line=replay, planned=set(by_id), extra_ids={hunt_id}) if journal else None
    records: list[dict] = list(log.records) if log else []
    done = {r["case"] for r in records}
    pending = [c for c in plan if c.id not in done]
    total = len(plan)
    if progress:
        progress(len(done), total)
    step = batch_size if port.batched else 1
    # the reference work of judging parallelises across cases: worker processes (started clean,
    # never forked from a process holding torch's threads) judge while this one drives the port.
    # "auto" first judges cases here for PROBE_SECONDS and starts workers only if the rest would
    # take longer than PARALLEL_MIN_SECONDS in this process (a worker's start costs about a second).
    probing = executor is None and workers == "auto" and len(pending) >= PARALLEL_MIN_CASES
    n_workers = 1 if probing or executor is not None else judge_workers(workers, len(pending))
    pool = _judge_pool(n_workers) if n_workers > 1 else None
    queue: collections.deque = collections.deque()
    judged_here, judged_work, judge_seconds = 0, 0, 0.0

    def record(c: Case, rec: dict) -> None:
        rec = _complete_record(rec, port, spec, c, dtype, options, shrink)
        if log:
            log.append(rec)
            rec = log.records[-1]
        records.append(rec)

    def drain(until: int) -> None:
        """Record judged cases in plan order while more than ``until`` are still queued."""
        while len(queue) > until:
            c, fut = queue.popleft()
            record(c, fut.result())
        if progress:
            progress(len(records), total)

    try:
        if executor is not None:  # records come back complete, in plan order
            from .cluster import judge_on_cluster

            for done in judge_on_cluster(executor, port, spec, method, dtype, port_batches(pending, step), options, shrink=shrink,
                                         verdict=_verdict_record, complete=_complete_record, encode=case_line if log else None,
                                         port_on=port_on):
                if log:  # one task's records, as journal lines: one write
                    log.extend(done)
                    done = log.records[-len(done):]
                records.extend(done)
                if progress:
                    progress(len(records), total)
            pending = []
        i = 0
        for chunk in port_batches(pending, step):
            i += len(chunk)
            rows = [c.row(dtype) for c in chunk]
            outcomes = port.run(method, [r.copy() for r in rows], [c.params for c in chunk], dtype)
            if pool is None:
                t = time.perf_counter()
                for c, row, out in zip(chunk, rows, outcomes):
                    record(c, _verdict_record(m, c, row, out, dtype, options))
                judge_seconds += time.perf_counter() - t
                judged_here += len(chunk)
                judged_work += sum(_judge_work(c) for c in chunk)
                if progress:
                    progress(len(records), total)
                if probing and judge_seconds >= PROBE_SECONDS:
                    probing = False
                    left = len(pending) - i
                    n = judge_workers("auto", left)
                    rest = judge_seconds / judged_work * sum(_judge_work(c) for c in pending[i:])
                    if n > 1 and rest > PARALLEL_MIN_SECONDS:
                        n_workers, pool = n, _judge_pool(n)
            else:
                for c, row, out in zip(chunk, rows, outcomes):
                    queue.append((c, pool.submit(_verdict_in_worker, method, c, row, out, dtype, options)))
                drain(4 * n_workers * step)  # keep the workers fed, the memory bounded
        drain(0)
        hunt_id = f"hunt-{method}-{dtype}"
        if hunt and hunt_id not in done:
            rec = _hunt_record(port, spec, method, dtype, options, hunt, hunt_id)
            if log:
                log.append(rec)
                rec = log.records[-1]
            records.append(rec)
    except BaseException:
        if log:
            log.close()
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        port.close()
    report = Report(spec, method, dtype, options, records, skipped, str(journal) if journal else None)
    report.shares_process = not port.isolated and scheme_of(spec)[0] in ("module", "file")
    if log:
        log.finish(report.summary())
    return report


def _outcome_from_answer(m, answer: dict, vocab: int) -> Outcome:
    """The :class:`Outcome` a recorded answer stands for (see :func:`_answer_of`)."""
    if "fault" in answer:
        return Outcome(fault=str(answer["fault"]), message=str(answer.get("message", "")))
    try:
        return Outcome(value=m.decode(answer["value"], vocab))
    except OutputFault as exc:
        return Outcome(fault=exc.fault, message=exc.message)


def _answer_of(m, out: Outcome) -> dict:
    """What the port answered, as JSON (the protocol's encoding), so a resumed run can judge it again."""
    if out.fault:
        return {"fault": out.fault, "message": out.message}
    return {"value": m.encode(out.value)}


def _hunt_record(port: Port, spec: str, method: str, dtype: str, options: Options, examples: int, hunt_id: str) -> dict:
    from .hunt import hunt as search

    case, verdict, tried = search(port, method, dtype, examples=examples, options=options)
    rec: dict[str, Any] = {"case": hunt_id, "family": "hunt", "params": {}, "comment": f"hypothesis search over {tried} inputs", "certified": True}
    if case is None:
        rec.update(vocab=0, status=Status.PASSED, fault=None, message=f"no failure found in {tried} searched inputs", severity=None)
        return rec
    rec.update(
        vocab=case.vocab,
        params=dict(case.params),
        status=Status.FAILED,
        fault=verdict.fault,
        message=f"{verdict.message} (found by a search of {tried} inputs, shrunk by hypothesis)",
        certified=verdict.certified,
        severity=verdict.severity if math.isfinite(verdict.severity) else None,
        details=verdict.details,
        logits=hex_list(case.logits),
        repro=repro_line(spec, case, dtype, options),
    )
    return rec


def _judge_case(m, port: Port, spec: str, c: Case, row: np.ndarray, out: Outcome, dtype: str, options: Options, shrink: bool) -> dict:
    return _complete_record(_verdict_record(m, c, row, out, dtype, options), port, spec, c, dtype, options, shrink)


def _verdict_record(m, c: Case, row: np.ndarray, out: Outcome, dtype: str, options: Options) -> CaseRecord:
    """The record of one case judged against the reference: no call of the port (so it can run in
    another process); a failure's repro line and shrinking come after (:func:`_complete_record`)."""
    rec: CaseRecord = {
        "case": c.id,
        "family": c.family,
        "vocab": c.vocab,
        "params": dict(c.params),
        "comment": c.comment,
        "elapsed_s": round(out.elapsed, 6),
        "answer": _answer_of(m, out),
    }
    try:
        ref = m.reference(row, c.params, options)
    except (ValueError, ZeroDivisionError) as exc:  # outside the domain: no verdict on the port
        rec.update(status=Status.SKIPPED, fault=None, message=f"the reference refuses this input: {exc}", certified=False, severity=None)
        return rec
    stale = _stale(m, c, ref, options)
    if stale:
        raise ValueError(stale)
    if out.fault:
        verdict = m.judge_fault(ref, out.fault, out.message, dtype)
    else:
        verdict = m.judge(row, c.params, ref, out.value, dtype, options)
        note_half_storage(m, row, c.params, ref, out.value, dtype, options, verdict)
    rec.update(
        status=Status(verdict.status),  # a judge's word, checked against the vocabulary
        fault=verdict.fault,
        message=verdict.message,
        certified=verdict.certified,
        severity=verdict.severity if math.isfinite(verdict.severity) else None,
        details=verdict.details,
    )
    return rec


def _verdict_in_worker(method: str, c: Case, row: np.ndarray, out: Outcome, dtype: str, options: Options) -> dict:
    return _verdict_record(get_method(method), c, row, out, dtype, options)


def _complete_record(rec: CaseRecord, port: Port, spec: str, c: Case, dtype: str, options: Options, shrink: bool) -> CaseRecord:
    """Add a failure's stored logits, repro line and shrunk case (which calls the port again)."""
    if rec.get("status") == Status.FAILED:
        if c.vocab <= STORE_LOGITS_MAX:
            rec["logits"] = hex_list(c.logits)
        rec["repro"] = repro_line(spec, c, dtype, options)
        if shrink and rec["fault"] not in ("timeout", "crashed"):
            small, small_verdict, calls = shrink_case(port, c, dtype, options, rec["fault"])
            if small_verdict is not None:
                rec["shrunk"] = {
                    "vocab": small.vocab,
                    "logits": hex_list(small.logits),
                    "params": dict(small.params),
                    "message": small_verdict.message,
                    "repro": repro_line(spec, small, dtype, options),
                    "port_calls": calls,
                }
    return rec


#: ``workers="auto"`` judges in parallel only from this many cases on (a worker takes about a
#: second to start: importing the package).
PARALLEL_MIN_CASES = 48
#: ``workers="auto"`` judges cases in the checking process for this long first (seconds), to
#: time them per unit of :func:`_judge_work` (a run judged sooner never starts a worker) ...
PROBE_SECONDS = 0.5
#: ... and starts workers only if the remaining cases would take longer than this (seconds) in
#: one process: n workers save about (1 - 1/n) of it and cost about a second to start. Measured
#: on 2 idle cores: EES runs (0.45 s of judging in all) were slower with two workers (108.7 ->
#: 90.5 cases/s), top-p runs (5.5 s of judging) faster (30.2 -> 45.4).
PARALLEL_MIN_SECONDS = 2.0


def _judge_work(case: Case) -> int:
    """A case's judging cost in units of one token: the reference's work grows with the
    vocabulary, on top of a fixed part worth about 20 tokens (measured for top-p: 2 ms a case and
    0.1 ms a token). The golden vectors that come first are small, so the estimate scales by
    the vocabulary of the cases still to judge."""
    return case.vocab + 20


def _judge_pool(n: int) -> concurrent.futures.ProcessPoolExecutor:
    return concurrent.futures.ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))


def judge_workers(workers: int | str, cases: int) -> int:
    """How many processes judge ``cases`` cases: ``workers`` (an int), or for ``"auto"`` one per
    idle CPU core (this process's counted as idle) when there are at least
    :data:`PARALLEL_MIN_CASES` cases, else 1 (this process). On a machine whose cores are all busy
    more processes only add their start-up (measured: 0.65x the throughput at a load of 10 on 2 cores).
    :func:`run_check` asks this only after judging cases for :data:`PROBE_SECONDS`, and only if
    the rest would take longer than :data:`PARALLEL_MIN_SECONDS` in one process.

    An explicit number is capped at the useful one: no more processes than cases, nor than CPU
    cores (each judges on one core; more only add their start-up).

    >>> judge_workers(1, 1000), judge_workers("auto", 3), judge_workers(1000, 1)
    (1, 1, 1)
    >>> judge_workers(0, 5)
    Traceback (most recent call last):
    ...
    ValueError: workers must be 'auto' or an integer >= 1, got 0
    """
    if workers == "auto":
        if cases < PARALLEL_MIN_CASES:
            return 1
        cores = os.cpu_count() or 1
        try:
            busy = int(os.getloadavg()[0])  # runnable processes, this one among them
        except OSError:
            busy = 0
        return max(1, min(cores, cores - busy + 1))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be 'auto' or an integer >= 1, got {workers!r}")
    return max(1, min(workers, cases, os.cpu_count() or 1))
