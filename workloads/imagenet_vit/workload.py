"""imagenet_vit: ViT-S/16 on ImageNet-2012 with RandAugment and mixup (spec §4)."""

from __future__ import annotations

from workloads.common.facts import from_configs
from workloads.common.imagenet import ImagenetWorkload
from workloads.imagenet_vit.model import ViTS16


@from_configs
class ImagenetVitWorkload(ImagenetWorkload):
  """ViT-S/16 with a mean-pool head (22,122,472 params); RandAugment(2, 10) and mixup(0.2)
  on the training split only."""

  name = 'imagenet_vit'
  model = ViTS16
  eval_batch_size = 2048
  use_randaugment = True
  mixup_alpha = 0.2
