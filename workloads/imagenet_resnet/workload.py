"""imagenet_resnet: ResNet-50 v1.5 on ImageNet-2012, top-1 accuracy (spec §3)."""

from __future__ import annotations

from workloads.common.facts import from_configs
from workloads.common.imagenet import ImagenetWorkload
from workloads.imagenet_resnet.model import ResNet50


@from_configs
class ImagenetResNetWorkload(ImagenetWorkload):
  """ResNet-50 v1.5 (25,557,032 params, 53,120 batch-norm statistics)."""

  name = 'imagenet_resnet'
  model = ResNet50
  eval_batch_size = 1024
