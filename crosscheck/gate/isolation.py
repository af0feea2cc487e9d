"""Crash isolation: cases run in a worker process, so that one case cannot end the sweep.

An implementation may abort the process (a failed assertion in a C++ extension, XLA's
``abort()``), hang, or exhaust memory. :class:`Isolated` runs each case in a worker process
(started with ``spawn``: a fresh interpreter, no state shared with the parent) and waits for
its outcome at most ``timeout`` seconds. A worker that dies on a case makes that case
*crashed*, one that outlives the limit makes it *timed out*, and with ``memory_mib`` one that
allocates past that much address space is crashed too (a MemoryError in the worker, before
the machine's out-of-memory killer would act); either way the worker is replaced and the
sweep goes on with the next case. The worker loads the implementation itself, by
name, so what it checks is what the parent would have checked. (As with any ``spawn``, a
script that uses :class:`Isolated` must start its work under ``if __name__ == "__main__":``.)
"""
from __future__ import annotations

import multiprocessing
import resource
import signal

from ..checking import Checks, Failure, Outcome, run_case
from ..frameworks import subject_of
from ..oracle import use_one_torch_thread
from .impl import load_impl

# how long a fresh worker may take to import torch, the framework and the implementation
STARTUP_SECONDS = 300


def _serve(connection, impl_name, framework, device, seed, checks, memory_mib=None):
    """The worker: load the implementation, then check each case sent until told to stop. With
    ``memory_mib``, the process's address space is capped there, so an allocation past it
    raises MemoryError; that case is reported as crashed and the worker stops (its state after
    a failed allocation is not to be trusted)."""
    if memory_mib is not None:
        limit = memory_mib * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    use_one_torch_thread()
    subject = subject_of(load_impl(impl_name), framework, device, impl_name)
    connection.send("ready")
    while (case := connection.recv()) is not None:
        try:
            outcome = run_case(subject, case, seed, checks)
        except MemoryError as exc:  # in the checking itself, around the implementation's call
            outcome = Outcome(case, "failed", failure=Failure("output", f"raised MemoryError: {exc}"))
        if memory_mib is not None and outcome.failure is not None and "MemoryError" in outcome.failure.reason:
            connection.send(Outcome(case, "crashed", note=f"exhausted the memory limit of {memory_mib} MiB "
                                                          f"({outcome.failure.quantity}: {outcome.failure.reason})"))
            return
        connection.send(outcome)


def _death(exitcode) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


class Isolated:
    """``run(case)`` checks one case in the worker; ``close()`` stops it."""

    def __init__(self, impl_name: str, framework: str | None = None, device: str = "cpu", seed: int = 0,
                 checks: Checks | None = None, timeout: float = 60.0, memory_mib: int | None = None):
        if not timeout > 0:
            raise ValueError(f"timeout must be positive (seconds per case), got timeout={timeout!r}")
        if memory_mib is not None and not (isinstance(memory_mib, int) and memory_mib > 0):
            raise ValueError(f"memory_mib must be a positive int (MiB of address space), got memory_mib={memory_mib!r}")
        self.args = (impl_name, framework, device, seed, checks or Checks(), memory_mib)
        self.timeout = timeout
        self.context = multiprocessing.get_context("spawn")
        self.process = self.connection = None
        self.restarts = 0

    def _start(self) -> None:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_serve, args=(child, *self.args), daemon=True)
        process.start()
        child.close()
        self.process, self.connection = process, parent
        try:
            ready = parent.poll(STARTUP_SECONDS) and parent.recv() == "ready"
        except EOFError:  # the worker died loading it
            ready = False
        if not ready:
            raise RuntimeError(f"the worker process could not load {self.args[0]!r}: {_death(self._stop())}")

    def _stop(self):
        """Stop the worker, whatever its state; its exit status."""
        if self.process is None:
            return None
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        exitcode = self.process.exitcode
        self.connection.close()
        self.process = self.connection = None
        return exitcode

    def run(self, case) -> Outcome:
        if self.process is None:
            self._start()
        try:
            self.connection.send(case)
            if self.connection.poll(self.timeout):
                outcome = self.connection.recv()
                if outcome.status == "crashed":  # the worker ran out of memory and stopped
                    self.restarts += 1
                    self._stop()
                return outcome
        except (EOFError, OSError):  # the worker died during the case
            self.restarts += 1
            return Outcome(case, "crashed", note=f"the process running the case {_death(self._stop())}")
        self.restarts += 1
        self._stop()
        return Outcome(case, "timed_out", note=f"no result within {self.timeout:g} s; the process was killed")

    def close(self) -> None:
        if self.process is not None and self.process.is_alive():
            try:
                self.connection.send(None)
                self.process.join(5)
            except OSError:
                pass
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
