"""Prepares the datasets of the full-size workloads from files the user already has.

Nothing here downloads ImageNet-2012 or fastMRI: both need an account and a licence
agreement, so they come as files you fetched yourself. (ImageNet-v2, the ImageNet test
split, is public: TFDS downloads it, which needs network access.) The small workloads need
no preparation.

ImageNet (imagenet_resnet, imagenet_vit), via TFDS's manual-download path:

    # ~/imagenet_raw holds ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar
    python scripts/prepare_data.py imagenet --data_dir=~/data --manual_dir=~/imagenet_raw

  builds `imagenet2012:5.1.0` (1,281,167 train, 50,000 validation images; ~155 GB) and
  `imagenet_v2/matched-frequency:3.0.0` (10,000 test images) under --data_dir. Then run with
  `avgperf run --workload=imagenet_resnet --data_dir=~/data ...`.

fastMRI knee single-coil (fastmri), from fastMRI's tarballs:

    # ~/fastmri_raw holds knee_singlecoil_train.tar.xz and knee_singlecoil_val.tar.xz
    python scripts/prepare_data.py fastmri --data_dir=~/data/fastmri --tar_dir=~/fastmri_raw

  extracts the h5 volumes into `knee_singlecoil_train/` (973 volumes, 34,742 slices) and
  `knee_singlecoil_val/` (199 volumes: the first 100 by name are `validation`, 3,554 slices;
  the other 99 are `test`, 3,581 slices), then checks every file (datasets `kspace` and
  `reconstruction_esc`, attribute `max`) and the counts. `--check_only` only checks.

Criteo 1TB click logs (criteo1tb), from Criteo's day files:

    # ~/criteo_raw holds day_0 ... day_23 (or day_0.gz ... day_23.gz)
    python scripts/prepare_data.py criteo1tb --data_dir=~/data/criteo1tb --raw_dir=~/criteo_raw

  splits each day into files of 5,000,000 lines, `day_<d>_00`, `day_<d>_01`, ... (as
  `split -a 2 -d -l 5000000` does), then checks that day 23 has 36 files, 95,000,000 test
  lines (files 00-18) and 83,274,637 validation lines (19-35). `--check_only` only checks.

Every command takes `--dry_run` to print what it would do.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import shutil
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

IMAGENET = 'imagenet2012:5.1.0'
IMAGENET_V2 = 'imagenet_v2/matched-frequency:3.0.0'
FASTMRI_TARBALLS = {'knee_singlecoil_train': 'knee_singlecoil_train.tar.xz',
                    'knee_singlecoil_val': 'knee_singlecoil_val.tar.xz'}
FASTMRI_COUNTS = {'knee_singlecoil_train': (973, 34_742), 'knee_singlecoil_val': (199, 7_135)}


def prepare_imagenet(data_dir: str, manual_dir: str, dry_run: bool = False) -> None:
  """Builds ImageNet-2012 from the manual tarballs, and ImageNet-v2 (downloaded by TFDS)."""
  manual = Path(manual_dir).expanduser()
  missing = [f for f in ('ILSVRC2012_img_train.tar', 'ILSVRC2012_img_val.tar')
             if not (manual / f).is_file()]
  if missing:
    raise FileNotFoundError(f'{manual} lacks {", ".join(missing)} (from image-net.org)')
  print(f'building {IMAGENET} from {manual} and {IMAGENET_V2} (download) in {data_dir}')
  if dry_run:
    return
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from workloads.common.tf_data import import_tf  # pylint: disable=g-import-not-at-top

  import_tf()
  config = tfds.download.DownloadConfig(manual_dir=str(manual))
  tfds.builder(IMAGENET, data_dir=data_dir).download_and_prepare(download_config=config)
  tfds.builder(IMAGENET_V2, data_dir=data_dir).download_and_prepare()


def _extract_h5(tarball: Path, destination: Path) -> int:
  """Extracts the .h5 members of `tarball` into `destination` (flat); returns their count."""
  destination.mkdir(parents=True, exist_ok=True)
  count = 0
  with tarfile.open(tarball) as tar:
    for member in tar:
      if member.isfile() and member.name.endswith('.h5'):
        source = tar.extractfile(member)
        with open(destination / os.path.basename(member.name), 'wb') as out:
          shutil.copyfileobj(source, out, length=16 << 20)
        count += 1
  return count


def check_fastmri(data_dir: str, expected=None) -> dict[str, tuple[int, int]]:
  """(volumes, slices) per folder, after checking each file's layout; raises on a mismatch
  with `expected` (default: the full dataset's counts)."""
  import h5py  # pylint: disable=g-import-not-at-top

  expected = FASTMRI_COUNTS if expected is None else expected
  found = {}
  for folder in FASTMRI_TARBALLS:
    files = sorted((Path(data_dir) / folder).glob('*.h5'))
    slices = 0
    for path in files:
      with h5py.File(path, 'r') as f:
        kspace, target = f['kspace'], f['reconstruction_esc']
        if kspace.ndim != 3 or target.shape[1:] != (320, 320) or len(kspace) != len(target):
          raise ValueError(f'{path}: kspace {kspace.shape}, reconstruction_esc {target.shape}')
        if 'max' not in f.attrs:
          raise ValueError(f'{path}: no attribute "max"')
        slices += len(kspace)
    found[folder] = (len(files), slices)
  for folder, counts in found.items():
    if folder in expected and counts != tuple(expected[folder]):
      raise ValueError(f'{folder}: {counts[0]} volumes, {counts[1]} slices; expected '
                       f'{expected[folder][0]} and {expected[folder][1]}')
  return found


def prepare_fastmri(data_dir: str, tar_dir: str | None, check_only: bool = False,
                    dry_run: bool = False, expected=None) -> dict[str, tuple[int, int]]:
  """Extracts fastMRI's single-coil knee tarballs into `data_dir`, then checks the result."""
  data = Path(data_dir).expanduser()
  if not check_only:
    if tar_dir is None:
      raise ValueError('give --tar_dir (or --check_only)')
    for folder, name in FASTMRI_TARBALLS.items():
      tarball = Path(tar_dir).expanduser() / name
      if not tarball.is_file():
        raise FileNotFoundError(f'{tarball} not found (from fastmri.med.nyu.edu)')
      print(f'extracting {tarball} -> {data / folder}', flush=True)
      if not dry_run:
        print(f'  {_extract_h5(tarball, data / folder)} volumes')
  if dry_run:
    return {}
  found = check_fastmri(str(data), expected)
  for folder, (volumes, slices) in found.items():
    print(f'{data / folder}: {volumes} volumes, {slices} slices')
  return found


CRITEO_DAYS = 24
CRITEO_LINES_PER_FILE = 5_000_000
CRITEO_EVAL_COUNTS = {'test': 95_000_000, 'validation': 83_274_637}


def _split_day(source: Path, data_dir: Path, day: int, lines_per_file: int) -> int:
  """Writes `source`'s lines into `day_<day>_<NN>` files; returns how many files."""
  opener = gzip.open if source.suffix == '.gz' else open
  with opener(source, 'rb') as lines:
    for part in itertools.count():
      chunk = list(itertools.islice(lines, lines_per_file))
      if not chunk:
        return part
      with open(data_dir / f'day_{day}_{part:02d}', 'wb') as out:
        out.writelines(chunk)


def check_criteo(data_dir: str, expected=None) -> dict[str, int]:
  """Day 23's test and validation line counts; raises when they are not `expected`."""
  from workloads.criteo1tb import input_pipeline  # pylint: disable=g-import-not-at-top

  expected = CRITEO_EVAL_COUNTS if expected is None else expected
  found = {split: sum(map(input_pipeline.line_count,
                          input_pipeline.split_files(data_dir, split))) for split in expected}
  if found != expected:
    raise ValueError(f'day 23 has {found} lines; expected {expected}')
  return found


def prepare_criteo(data_dir: str, raw_dir: str | None, check_only: bool = False,
                   dry_run: bool = False, lines_per_file: int = CRITEO_LINES_PER_FILE,
                   expected=None) -> dict[str, int]:
  """Splits Criteo's day files into `day_<d>_<NN>` files of 5,000,000 lines, then checks."""
  data = Path(data_dir).expanduser()
  if not check_only:
    if raw_dir is None:
      raise ValueError('give --raw_dir (or --check_only)')
    raw = Path(raw_dir).expanduser()
    sources = {}
    for day in range(CRITEO_DAYS):
      found = [path for path in (raw / f'day_{day}', raw / f'day_{day}.gz') if path.is_file()]
      if not found:
        raise FileNotFoundError(f'{raw} has no day_{day} or day_{day}.gz (from Criteo)')
      sources[day] = found[0]
    data.mkdir(parents=True, exist_ok=True)
    for day, source in sources.items():
      print(f'splitting {source} -> {data}/day_{day}_NN', flush=True)
      if not dry_run:
        print(f'  {_split_day(source, data, day, lines_per_file)} files', flush=True)
  if dry_run:
    return {}
  found = check_criteo(str(data), expected)
  print(f'{data}: day 23 has {found["test"]:,} test and {found["validation"]:,} validation lines')
  return found


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  sub = parser.add_subparsers(dest='dataset', required=True)
  imagenet = sub.add_parser('imagenet', help='ImageNet-2012 and ImageNet-v2 via TFDS')
  imagenet.add_argument('--data_dir', required=True, help='the TFDS data folder to fill')
  imagenet.add_argument('--manual_dir', required=True,
                        help='folder with ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar')
  fastmri = sub.add_parser('fastmri', help='fastMRI knee single-coil h5 volumes')
  fastmri.add_argument('--data_dir', required=True, help='gets knee_singlecoil_{train,val}/')
  fastmri.add_argument('--tar_dir', help='folder with knee_singlecoil_{train,val}.tar.xz')
  fastmri.add_argument('--check_only', action='store_true')
  criteo = sub.add_parser('criteo1tb', help='Criteo 1TB click logs, split into day files')
  criteo.add_argument('--data_dir', required=True, help='gets day_<d>_<NN> files')
  criteo.add_argument('--raw_dir', help='folder with day_0 ... day_23 (or .gz)')
  criteo.add_argument('--check_only', action='store_true')
  for p in (imagenet, fastmri, criteo):
    p.add_argument('--dry_run', action='store_true')
  args = parser.parse_args(argv)
  if args.dataset == 'imagenet':
    prepare_imagenet(os.path.expanduser(args.data_dir), args.manual_dir, args.dry_run)
  elif args.dataset == 'fastmri':
    prepare_fastmri(args.data_dir, args.tar_dir, args.check_only, args.dry_run)
  else:
    prepare_criteo(args.data_dir, args.raw_dir, args.check_only, args.dry_run)
  return 0


if __name__ == '__main__':
  sys.exit(main())
