"""A JSON Lines port (``exec:``) with hostile answers, chosen by the row's vocabulary size:
3 answers with an array nested 100,000 deep, 4 with a 4 MB line, 5 with a 4 MB line that never
ends; other sizes keep the first token only. Run as ``hostile_exec.py noread`` it never reads
its requests (and never exits).
"""

import json
import sys
import time


def main() -> None:
    if sys.argv[1:] == ["noread"]:
        time.sleep(3600)
    for line in sys.stdin:
        req = json.loads(line)
        v = len(req["logits"])
        if v == 3:
            sys.stdout.write('{"id": "%s", "kept": %s0%s}\n' % (req["id"], "[" * 100_000, "]" * 100_000))
        elif v == 4:
            sys.stdout.write(json.dumps({"id": req["id"], "kept": [0], "pad": "x" * (4 << 20)}) + "\n")
        elif v == 5:
            sys.stdout.write("x" * (4 << 20))
        else:
            sys.stdout.write(json.dumps({"id": req["id"], "kept": [0]}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
