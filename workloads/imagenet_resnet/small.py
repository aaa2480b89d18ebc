"""imagenet_resnet_small: the same ResNet code, one bottleneck block per stage and 16 filters,
on scikit-learn's digits upsampled to 64x64; same loss and accuracy metric."""

from __future__ import annotations

from workloads.common.digits_images import DigitsImageWorkload
from workloads.common.facts import from_configs
from workloads.imagenet_resnet.model import ResNetSmall


@from_configs
class ImagenetResNetSmallWorkload(DigitsImageWorkload):
  """ResNet, stages (1, 1, 1, 1), 16 filters, 10 classes, 64x64x1 inputs."""

  name = 'imagenet_resnet_small'
  model = ResNetSmall
  image_shape = (64, 64, 1)
