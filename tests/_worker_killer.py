"""A Dask worker plugin for tests: the worker that starts the first task whose key holds ``needle``
kills its own process (SIGKILL, as the kernel's OOM killer would), once per ``flag`` file."""

from __future__ import annotations

import os
import signal

from distributed.diagnostics.plugin import WorkerPlugin


class KillWorkerOnce(WorkerPlugin):
    name = "numazu-test-kill-worker-once"

    def __init__(self, flag: str, needle: str):
        self.flag, self.needle = flag, needle

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing" or self.needle not in str(key):
            return
        try:
            fd = os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # one kill in the whole cluster
        except FileExistsError:
            return
        os.write(fd, str(key).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)
