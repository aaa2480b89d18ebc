"""Workload names -> workload classes, imported only when asked for (some pull in TensorFlow).

Registering a workload of this repository is one line below: its name and 'module:Class'.
A workload that lives elsewhere needs no registration: `get('package.module:Class')` or
`get('path/to/file.py:Class')` loads it (its class carries its facts, see
`workloads.common.facts.with_facts`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from avgperf import spec
from avgperf.errors import UsageError

_WORKLOADS: dict[str, str] = {
    'digits': 'workloads.digits.workload:DigitsWorkload',
    'fastmri': 'workloads.fastmri.workload:FastMRIWorkload',
    'fastmri_small': 'workloads.fastmri.small:FastMRISmallWorkload',
    'imagenet_resnet': 'workloads.imagenet_resnet.workload:ImagenetResNetWorkload',
    'imagenet_resnet_small': 'workloads.imagenet_resnet.small:ImagenetResNetSmallWorkload',
    'imagenet_vit': 'workloads.imagenet_vit.workload:ImagenetVitWorkload',
    'imagenet_vit_small': 'workloads.imagenet_vit.small:ImagenetVitSmallWorkload',
    'ogbg': 'workloads.ogbg.workload:OgbgWorkload',
    'ogbg_small': 'workloads.ogbg.small:OgbgSmallWorkload',
    'librispeech_conformer':
        'workloads.librispeech_conformer.workload:LibriSpeechConformerWorkload',
    'librispeech_conformer_small':
        'workloads.librispeech_conformer.small:LibriSpeechConformerSmallWorkload',
    'criteo1tb': 'workloads.criteo1tb.workload:Criteo1TbWorkload',
    'criteo1tb_small': 'workloads.criteo1tb.small:Criteo1TbSmallWorkload',
    'finewebedu_lm': 'workloads.finewebedu_lm.workload:FineWebEduLmWorkload',
    'finewebedu_lm_small': 'workloads.finewebedu_lm.small:FineWebEduLmSmallWorkload',
}


def names() -> list[str]:
  """The registered workloads."""
  return sorted(_WORKLOADS)


def get(name: str) -> spec.Workload:
  """A fresh instance of a registered workload, or of 'module:Class' / 'file.py:Class'.

  Raises:
    UsageError: an unknown name, or a target that cannot be loaded (one line).
  """
  target = _WORKLOADS.get(name, name)
  if ':' not in target:
    raise UsageError(f'unknown workload {name!r}; registered: {", ".join(names())} '
                     '(or give module:Class or path/to/file.py:Class)')
  where, _, attribute = target.rpartition(':')
  module = _import(where)
  cls = getattr(module, attribute, None)
  if not (isinstance(cls, type) and issubclass(cls, spec.Workload)):
    raise UsageError(f'{where} has no workload class {attribute!r}')
  return cls()


def _import(where: str):
  if not where.endswith('.py'):
    try:
      return importlib.import_module(where)
    except ModuleNotFoundError as e:
      raise UsageError(f'cannot import workload module {where}: {e}') from None
  path = Path(where)
  if not path.is_file():
    raise UsageError(f'workload file {where} does not exist')
  module_spec = importlib.util.spec_from_file_location(f'avgperf_workload_{path.stem}', path)
  module = importlib.util.module_from_spec(module_spec)
  sys.modules[module_spec.name] = module
  dont_write = sys.dont_write_bytecode
  sys.dont_write_bytecode = True  # write nothing beside the user's file
  try:
    module_spec.loader.exec_module(module)
  finally:
    sys.dont_write_bytecode = dont_write
  return module
