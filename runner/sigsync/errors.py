"""Errors the runner expects and reports as one clean line (no traceback)."""


class SigsyncError(Exception):
    """An expected failure: bad input, unreachable database, refused migration..."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM/SIGINT/SIGHUP arrived while a cleanup-guarded block was running.

    A KeyboardInterrupt subclass, so `except Exception` does not swallow it and
    pytest treats it as an interruption (and still tears fixtures down).
    """

    def __init__(self, signum: int):
        import signal

        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(self.name)
