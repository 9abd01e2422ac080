"""Running a port over cases: cases, their generation and golden vectors, ports and their
isolated workers, the runner with its journal, shrinking, hunting, cluster execution, and the
draws check.

>>> from ees_theory.running.cases import Case
>>> Case.__name__
'Case'
"""
