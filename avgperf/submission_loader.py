"""Loading a submission: by name (a module of `submissions/`) or by the path of a .py file.

A module gives its functions in one of two forms:

* a module-level value `SUBMISSION` with the functions as attributes (methods), as the
  named submissions do (`SUBMISSION = OptaxSubmission(make_tx=...)`), or
* bare module-level functions, AlgoPerf's form (`def update_params(...)`), so that an
  AlgoPerf JAX submission runs with only its import lines changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import sys
import types
from pathlib import Path

from avgperf import spec
from avgperf.errors import UsageError
from configs import submissions as submissions_config

REQUIRED = ('get_batch_size', 'init_optimizer_state', 'update_params', 'data_selection')
OPTIONAL = ('prepare_for_eval', 'averaged_params')


def load(name_or_path: str) -> spec.Submission:
  """Imports and checks a submission; UsageError names what is missing or broken."""
  if name_or_path.endswith('.py'):
    module, name, search_space = _import_file(Path(name_or_path))
  else:
    module, name, search_space = _import_named(name_or_path)
  source = getattr(module, 'SUBMISSION', module)
  missing = [f for f in REQUIRED if not callable(getattr(source, f, None))]
  if missing:
    raise UsageError(f'submission {name_or_path} lacks {", ".join(missing)}')
  functions = {f: getattr(source, f, None) for f in REQUIRED + OPTIONAL}
  functions = {f: fn if callable(fn) else None for f, fn in functions.items()}
  return spec.Submission(
      name=name, **functions, default_search_space=search_space,
      self_tuning=getattr(source, 'supports_self_tuning', True))


def description(name: str) -> str:
  """The first sentence of a named submission's docstring, whole."""
  module = importlib.import_module(f'submissions.{name}')
  text = ' '.join((module.__doc__ or '').split())
  end = re.search(r'\.\s+(?=[A-Z])', text)  # "et al. 2018" does not end a sentence
  return text if end is None else text[:end.start() + 1]


def available() -> list[str]:
  """Names of the submission modules: the top-level modules of the `submissions` package
  (its libraries live in subpackages)."""
  import submissions  # pylint: disable=g-import-not-at-top

  return sorted(m.name for m in pkgutil.iter_modules(submissions.__path__) if not m.ispkg)


def _import_named(name: str) -> tuple[types.ModuleType, str, Path | None]:
  if name not in available():
    raise UsageError(f'unknown submission {name!r}; known: {", ".join(available())} '
                     '(or give the path of a .py file)')
  module = importlib.import_module(f'submissions.{name}')
  return module, name, submissions_config.search_space_path(name)


def _import_file(path: Path) -> tuple[types.ModuleType, str, Path | None]:
  """Executes a submission file as a module, writing nothing beside it (no __pycache__)."""
  if not path.is_file():
    raise UsageError(f'submission file {path} does not exist')
  name = path.stem if path.stem != 'submission' else path.parent.name
  module_spec = importlib.util.spec_from_file_location(f'avgperf_submission_{name}', path)
  module = importlib.util.module_from_spec(module_spec)
  sys.modules[module_spec.name] = module
  dont_write = sys.dont_write_bytecode
  sys.dont_write_bytecode = True
  try:
    module_spec.loader.exec_module(module)
  except SyntaxError as e:
    raise UsageError(f'submission {e.filename}:{e.lineno}: syntax error: {e.msg}') from None
  except Exception as e:  # pylint: disable=broad-except
    raise UsageError(f'submission {path} cannot be imported: {_where(e, path)}'
                     f'{type(e).__name__}: {e}') from None
  finally:
    sys.dont_write_bytecode = dont_write
  beside = path.parent / 'tuning_search_space.json'
  return module, name, beside if beside.is_file() else None


def _where(error: Exception, path: Path) -> str:
  """'line N: ' of the innermost frame of the error inside `path`, or ''."""
  line = None
  tb = error.__traceback__
  while tb is not None:
    if Path(tb.tb_frame.f_code.co_filename).resolve() == path.resolve():
      line = tb.tb_lineno
    tb = tb.tb_next
  return f'line {line}: ' if line is not None else ''
