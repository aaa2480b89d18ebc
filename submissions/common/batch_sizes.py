"""Global batch sizes of AlgoPerf's baseline (full-size workloads) and ours (small ones)."""

BASELINE_BATCH_SIZES = {
    'criteo1tb': 262_144,
    'fastmri': 32,
    'imagenet_resnet': 1024,
    'imagenet_vit': 1024,
    'librispeech_conformer': 256,
    'librispeech_deepspeech': 256,
    'ogbg': 512,
    'wmt': 128,
    'finewebedu_lm': 64,
    'mnist': 16,
    'digits': 64,
    'imagenet_resnet_small': 64,
    'imagenet_vit_small': 32,
    'fastmri_small': 8,
}


def baseline_batch_size(workload_name: str) -> int:
  if workload_name not in BASELINE_BATCH_SIZES:
    raise ValueError(f'no batch size for workload {workload_name!r}')
  return BASELINE_BATCH_SIZES[workload_name]
