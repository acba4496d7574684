"""A child process for the no-orphans tests: ``python child.py ignores-term|exits-on-term``.

Both ignore SIGINT (a Ctrl-C to the whole process group stops neither); ``ignores-term`` ignores
SIGTERM too, ``exits-on-term`` writes ``CHILD <pid> GOT SIGTERM`` to stderr and exits 0 on it.
Prints ``UP`` once its signal dispositions are set, then waits.

``exits-on-term`` waits for SIGTERM with it blocked, in ``sigwait``, not with a handler around
``time.sleep``: a SIGTERM that arrives after ``print`` but before the sleep's system call is taken
by CPython's C-level handler, and the Python handler then waits for the sleep to end (seen on
3.14 and 3.15 with a loaded CPU: /proc showed the child in clock_nanosleep, SIGTERM caught, none
pending, 3 s after it was sent).  A blocked signal stays pending until sigwait takes it.
"""

import os
import signal
import sys
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
if sys.argv[1] == "ignores-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("UP", flush=True)
    time.sleep(3600)
else:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    print("UP", flush=True)
    signal.sigwait({signal.SIGTERM})
    sys.stderr.write(f"CHILD {os.getpid()} GOT SIGTERM\n")
