"""The check a full-size workload makes before anything is built: the packages its pipeline
imports and the files it reads, each missing one named in one line with the command that
makes it."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from avgperf.errors import UsageError


def require(workload: str, data_dir: str | None, patterns: Sequence[str],
            prepare: str, packages: Sequence[str] = ()) -> None:
  """UsageError unless `packages` import and every glob of `patterns` matches a file under
  `data_dir`.

  Args:
    workload: its name, for the message.
    data_dir: the folder given with --data_dir (None: not given).
    patterns: globs relative to it, e.g. 'imagenet2012/5.1.0/dataset_info.json'.
    prepare: the arguments of `scripts/prepare_data.py` that make the data, after
      --data_dir, e.g. 'imagenet --manual_dir=...'.
    packages: modules the pipeline imports (from the `data` extra).
  """
  missing = [m for m in packages if importlib.util.find_spec(m) is None]
  if missing:
    raise UsageError(f'{workload} reads its data with {", ".join(missing)}, which is not '
                     "installed: pip install 'avgperf[data]'")
  name, _, rest = prepare.partition(' ')
  command = (f'`python scripts/prepare_data.py {name} --data_dir={data_dir or "DIR"}'
             f'{" " + rest if rest else ""}`')
  if data_dir is None:
    raise UsageError(f'{workload} needs --data_dir, the folder made by {command}')
  root = Path(data_dir).expanduser()
  absent = [p for p in patterns if not any(f.is_file() for f in root.glob(p))]
  if absent:
    raise UsageError(f'{data_dir} lacks {", ".join(absent)}; make them with {command}')
