"""``ees-theory vectors``: the golden conformance vectors (regenerate, check, list).

``regen`` rewrites the packaged JSON Lines file from the certified reference (deterministic);
``check`` exits 1 when the file is not what ``regen`` would write; ``list`` counts the cases by
method, family and dtype.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("vectors", help="regenerate, check or list the golden conformance vectors",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("action", choices=("regen", "check", "list"))
    p.add_argument("--out", metavar="FILE", help="file to write or check (default: the packaged vectors)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..running import vectors as v

    if args.action == "regen":
        path = v.regen(args.out)
        print(f"wrote {len(v.load_vectors(path))} cases to {path}")
        return 0
    if args.action == "check":
        if v.is_current(args.out):
            print(f"{args.out or v.vectors_path()} is current")
            return 0
        print(f"{args.out or v.vectors_path()} is stale: run `ees-theory vectors regen`")
        return 1
    cases = v.load_vectors(args.out)
    print(f"{len(cases)} cases in {args.out or v.vectors_path()}")
    for label, counter in (
        ("method", Counter(c.method for c in cases)),
        ("family", Counter(c.family for c in cases)),
        ("dtype", Counter(d for c in cases for d in c.dtypes)),
    ):
        print(f"  by {label}: " + ", ".join(f"{k} {n}" for k, n in sorted(counter.items())))
    return 0
