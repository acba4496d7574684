"""Run at start-up, as ``sitecustomize``, by every child a test starts with ``conftest.run_env``
(that puts this directory on PYTHONPATH), whatever the child runs: a test program, the launcher.

It shows aioboot's DEBUG report of the path each signal it takes is handled on ("handling SIGINT
with signal.signal, ...") on stderr, for ``conftest.assert_signal_path``: a test named for a path
proves that path only if the run says it took it.  The program's own logging is left as it was:
its handlers get exactly the aioboot records they got without this.
"""

import logging
import sys

REPORTED_BY = "_log_how"  # the method of aioboot._signals.SignalCapture that logs the report


class _ShowSignalPathReport(logging.Filter):
    """On aioboot's logger, set to DEBUG so that the report is made at all: writes the report to
    stderr, and passes on only what the logger's own level passed before."""

    def __init__(self) -> None:
        super().__init__()
        self._stderr = logging.StreamHandler(sys.stderr)
        self._stderr.setFormatter(logging.Formatter("aioboot signal path: %(message)s"))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.funcName == REPORTED_BY:
            self._stderr.handle(record)
        # Without this module aioboot's logger has no level of its own: the root's decides.
        return logging.getLogger().isEnabledFor(record.levelno)


_aioboot = logging.getLogger("aioboot")
_aioboot.setLevel(logging.DEBUG)
_aioboot.addFilter(_ShowSignalPathReport())
