"""A child process for the no-orphans tests: ``python child.py ignores-term|exits-on-term``.

Both ignore SIGINT (a Ctrl-C to the whole process group stops neither); ``ignores-term`` ignores
SIGTERM too, ``exits-on-term`` writes ``CHILD <pid> GOT SIGTERM`` to stderr and exits 0 on it.
Prints ``UP`` once its signal dispositions are set, then sleeps.
"""

import os
import signal
import sys
import time


def exit_on_term(signum: int, frame: object) -> None:
    sys.stderr.write(f"CHILD {os.getpid()} GOT SIGTERM\n")
    sys.exit(0)


signal.signal(signal.SIGINT, signal.SIG_IGN)
on_term = {"ignores-term": signal.SIG_IGN, "exits-on-term": exit_on_term}[sys.argv[1]]
signal.signal(signal.SIGTERM, on_term)
print("UP", flush=True)
time.sleep(3600)
