"""The error a user can fix (the CLI prints its one-line message and exits with code 2), and
one-line warnings."""

import sys


class UsageError(Exception):
  """Bad input: an unknown name, a malformed file, an unwritable folder."""


def warn(message: str) -> None:
  """One line on standard error: something the user should know that does not stop the run."""
  print(f'avgperf: warning: {message}', file=sys.stderr, flush=True)
