"""ImageNet-2012 as the ResNet and ViT workloads share it: facts and the TFDS pipeline (with
RandAugment and mixup for the ViT)."""

from __future__ import annotations


from workloads.common import data_check
from workloads.common.image_classifier import ImageClassifierWorkload

# TFDS folders the pipeline reads under --data_dir (built by scripts/prepare_data.py).
TFDS_FOLDERS = ('imagenet2012/5.1.0', 'imagenet_v2/matched-frequency/3.0.0')


class ImagenetWorkload(ImageClassifierWorkload):
  """The ImageNet facts and TFDS pipeline shared by the ResNet and the ViT."""

  dataset = 'ImageNet-2012 (TFDS imagenet2012:5.1.0); test: ImageNet-v2 matched-frequency'
  num_train_examples = 1_281_167
  num_validation_examples = 50_000
  num_test_examples = 10_000
  num_classes = 1000
  use_randaugment = False
  mixup_alpha: float | None = None

  def check_data(self, data_dir):
    data_check.require(self.name, data_dir, [f'{f}/dataset_info.json' for f in TFDS_FOLDERS],
                       'imagenet --manual_dir=...',
                       packages=('tensorflow', 'tensorflow_datasets'))

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    from workloads.common import imagenet_pipeline  # pylint: disable=g-import-not-at-top

    size = self.image_shape[0]
    if split == 'train':
      randaugment = None
      if self.use_randaugment:
        from workloads.common import randaugment as ra  # pylint: disable=g-import-not-at-top
        randaugment = ra.randaugment
      return imagenet_pipeline.train_iterator(
          rng, global_batch_size, start_step, num_examples=self.num_train_examples,
          image_size=size, data_dir=data_dir, randaugment=randaugment,
          mixup_alpha=self.mixup_alpha, num_classes=self.num_classes)
    return imagenet_pipeline.eval_iterator(split, global_batch_size, self.split_sizes()[split],
                                        image_size=size, data_dir=data_dir)
