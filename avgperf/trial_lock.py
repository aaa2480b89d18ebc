"""One process per trial folder: an exclusive lock held for as long as the trial runs.

The lock is `flock` on a file in the trial folder: the kernel releases it when the process
ends, however it ends, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from avgperf import trial_files


class TrialBusyError(Exception):
  """Another process holds the trial."""


class TrialLock:
  """`with TrialLock(trial_dir):` runs the block holding the trial, or raises TrialBusyError."""

  def __init__(self, trial_dir: Path):
    self.path = Path(trial_dir) / trial_files.LOCK
    self._fd = None

  def __enter__(self) -> TrialLock:
    self.path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      os.close(fd)
      raise TrialBusyError(f'{self.path.parent} is being run by another avgperf process') from None
    self._fd = fd
    return self

  def __exit__(self, *exc) -> None:
    fcntl.flock(self._fd, fcntl.LOCK_UN)
    os.close(self._fd)
    self._fd = None
