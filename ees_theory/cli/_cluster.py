"""``--cluster ADDRESS`` of the commands that send independent pieces of work to a Dask cluster
(``claims --search``, ``engines``, the minimality search): the option and the client it names.

Without the option nothing of the cluster code, and nothing of Dask, is imported.

>>> with cluster_context(None) as executor:
...     executor is None
True
>>> cluster_context("10.0.0.5")
Traceback (most recent call last):
...
ValueError: --cluster expects tcp://HOST:PORT (a Dask scheduler) or local:N (N local worker processes), got '10.0.0.5'
"""

from __future__ import annotations

import contextlib

__all__ = ["add_cluster_argument", "cluster_context"]


def add_cluster_argument(p, what: str) -> None:
    """Add ``--cluster ADDRESS`` to the parser ``p``; ``what`` says what goes out and what stays the same."""
    p.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help=f"run on a Dask cluster: a scheduler tcp://HOST:PORT, or local:N (N worker processes started and closed "
                        f"here); {what} (needs the cluster extra)")


def cluster_context(address: str | None):
    """The ``distributed.Client`` of ``address`` as a context manager (a null one for None). The
    address is checked now and the scheduler reached on entry: either refused (``ValueError``,
    exit status 2 on the command line) before any work starts."""
    if address is None:
        return contextlib.nullcontext(None)
    from ..running.cluster import cluster_client, parse_address

    parse_address(address)
    return cluster_client(address)
