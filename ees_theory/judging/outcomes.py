"""The words a check uses for its outcomes, each written once.

:class:`Status` is the outcome of one case (the ``status`` of every record in a results journal,
whether the case was judged by its kept set, its temperature or its token draws);
:class:`Grade` says how an answer that is not the reference's stands against the careful styles
and the rigorous band (the ``grade`` in a record's details); :class:`RowVerdict` is the outcome of one engine row (the ``verdict`` of every line of the engine
matrix's results). Both are ``str`` enums: a member *is* its string, so it compares equal to the
word read back from a journal and JSON writes it as that word (a journal or results file holds
plain words, and any journal with those words resumes). Its ``repr`` is the word's too,
so a message or a printed record reads the same whether its status was judged now or read back.

>>> Status.FAILED == "fail", Status("admissible") is Status.ADMISSIBLE
(True, True)
>>> import json; json.dumps({"status": Status.PASSED, "verdict": RowVerdict.NOT_RUN})
'{"status": "pass", "verdict": "not-run"}'
>>> JUDGED, {"status": Status.SKIPPED}
(('pass', 'admissible', 'fail'), {'status': 'skipped'})
>>> Status("passed")
Traceback (most recent call last):
...
ValueError: 'passed' is not a valid Status
"""

from __future__ import annotations

import enum

__all__ = ["Status", "RowVerdict", "Grade", "JUDGED"]


class _Word(enum.StrEnum):
    """A ``str`` enum shown as its word (``'fail'``), as a journal holds it."""

    def __repr__(self) -> str:
        return repr(self.value)


class Status(_Word):
    """The outcome of one case.

    ``PASSED``: the answer is the reference's. ``ADMISSIBLE``: it differs, but only where the
    dtype's error bound (or a careful implementation's rounding) allows. ``FAILED``: it is wrong.
    ``SKIPPED``: the case was not judged (the reference refuses the input, or nothing on the row
    can be tested); the record says why.
    """

    PASSED = "pass"
    ADMISSIBLE = "admissible"
    FAILED = "fail"
    SKIPPED = "skipped"
    #: only before the family-wise step of a draws run: the case's draws were tested and carry a
    #: p-value, which Holm's procedure turns into ``PASSED``/``ADMISSIBLE`` or ``FAILED``
    TESTED = "tested"


#: the outcomes of a judged case (a record with one of these counts towards coverage)
JUDGED = (Status.PASSED, Status.ADMISSIBLE, Status.FAILED)


class RowVerdict(_Word):
    """The outcome of one engine row (an engine, a method, a policy, a dtype and a form)."""

    CONFORMS = "conforms"
    FAILS = "fails"
    NOT_RUN = "not-run"


class Grade(_Word):
    """How an answer that is not the reference's was graded (``details["grade"]`` of its record).

    ``ADMISSIBLE``: a careful style produces it. ``SUSPECT``: inside the rigorous band, produced by
    no style (fails unless ``--bands rigorous``; then also its fault name). ``FAILED``: outside the
    rigorous band. ``RIGOROUS_ONLY``: judged by the rigorous band alone (``--bands rigorous``, or
    the styles cannot run).
    """

    ADMISSIBLE = "admissible"
    SUSPECT = "suspect"
    FAILED = "failed"
    RIGOROUS_ONLY = "rigorous-only"
