"""imagenet_vit_small: the same ViT code (width 96, 4 layers, 3 heads, patch 8) on
scikit-learn's digits upsampled to 32x32 (16 tokens); same loss and accuracy metric."""

from __future__ import annotations

from workloads.common.facts import from_configs
from workloads.common.digits_images import DigitsImageWorkload
from workloads.imagenet_vit.model import ViTSmall


@from_configs
class ImagenetVitSmallWorkload(DigitsImageWorkload):
  """ViT width 96, depth 4, MLP 384, 3 heads, 8x8 patches, 10 classes, 32x32x1 inputs."""

  name = 'imagenet_vit_small'
  model = ViTSmall
  image_shape = (32, 32, 1)
