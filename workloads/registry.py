"""Workload names -> workload classes, imported only when asked for (some pull in TensorFlow)."""

from __future__ import annotations

import importlib

from avgperf import spec

# name -> (module, class name, constructor keyword arguments)
_WORKLOADS: dict[str, tuple[str, str, dict]] = {
    'digits': ('workloads.digits.workload', 'DigitsWorkload', {}),
    'imagenet_resnet': ('workloads.imagenet_resnet.workload', 'ImagenetResNetWorkload', {}),
    'imagenet_resnet_small': ('workloads.imagenet_resnet.small', 'ImagenetResNetSmallWorkload',
                              {}),
    'imagenet_vit': ('workloads.imagenet_vit.workload', 'ImagenetVitWorkload', {}),
    'imagenet_vit_small': ('workloads.imagenet_vit.small', 'ImagenetVitSmallWorkload', {}),
    'fastmri': ('workloads.fastmri.workload', 'FastMRIWorkload', {}),
    'fastmri_small': ('workloads.fastmri.small', 'FastMRISmallWorkload', {}),
    'finewebedu_lm': ('workloads.finewebedu_lm.workload', 'FineWebEduLmWorkload', {}),
    'finewebedu_lm_small': ('workloads.finewebedu_lm.small', 'FineWebEduLmSmallWorkload', {}),
}


def names() -> list[str]:
  return sorted(_WORKLOADS)


def get(name: str) -> spec.Workload:
  """A fresh instance of the workload `name`; KeyError names the known ones."""
  if name not in _WORKLOADS:
    raise KeyError(f'unknown workload {name!r}; known: {", ".join(names())}')
  module, cls, kwargs = _WORKLOADS[name]
  return getattr(importlib.import_module(module), cls)(**kwargs)
