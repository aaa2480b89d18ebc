"""scripts/prepare_data.py: fastMRI tarballs extracted and checked; ImageNet's dry run."""

import importlib.util
import tarfile
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip('h5py')

_SPEC = importlib.util.spec_from_file_location(
    'prepare_data', Path(__file__).resolve().parents[2] / 'scripts' / 'prepare_data.py')
prepare_data = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(prepare_data)


def _volume(path, slices, with_max=True):
  with h5py.File(path, 'w') as f:
    f['kspace'] = np.zeros((slices, 640, 372), np.complex64)
    f['reconstruction_esc'] = np.zeros((slices, 320, 320), np.float32)
    if with_max:
      f.attrs['max'] = 1.0


def _tarball(tmp_path, name, folder, volumes):
  src = tmp_path / 'src' / folder
  src.mkdir(parents=True)
  for i, slices in enumerate(volumes):
    _volume(src / f'file{i:03d}.h5', slices)
  with tarfile.open(tmp_path / 'raw' / name, 'w:gz') as tar:
    tar.add(src, arcname=folder)


def test_fastmri_tarballs_are_extracted_and_counted(tmp_path):
  (tmp_path / 'raw').mkdir()
  _tarball(tmp_path, 'knee_singlecoil_train.tar.xz', 'singlecoil_train', [2, 3])
  _tarball(tmp_path, 'knee_singlecoil_val.tar.xz', 'singlecoil_val', [1, 1, 2])
  expected = {'knee_singlecoil_train': (2, 5), 'knee_singlecoil_val': (3, 4)}
  found = prepare_data.prepare_fastmri(str(tmp_path / 'data'), str(tmp_path / 'raw'),
                                       expected=expected)
  assert found == expected
  assert sorted(p.name for p in (tmp_path / 'data' / 'knee_singlecoil_val').iterdir()) == [
      'file000.h5', 'file001.h5', 'file002.h5']
  with pytest.raises(ValueError, match='expected 973'):
    prepare_data.check_fastmri(str(tmp_path / 'data'))  # the full dataset's counts
  _volume(tmp_path / 'data' / 'knee_singlecoil_val' / 'file003.h5', 1, with_max=False)
  with pytest.raises(ValueError, match='no attribute "max"'):
    prepare_data.check_fastmri(str(tmp_path / 'data'), expected)


def test_imagenet_needs_the_manual_tarballs(tmp_path, capsys):
  with pytest.raises(FileNotFoundError, match='ILSVRC2012_img_train.tar'):
    prepare_data.prepare_imagenet(str(tmp_path), str(tmp_path))
  for name in ('ILSVRC2012_img_train.tar', 'ILSVRC2012_img_val.tar'):
    (tmp_path / name).touch()
  assert prepare_data.main(['imagenet', f'--data_dir={tmp_path}', f'--manual_dir={tmp_path}',
                            '--dry_run']) == 0
  assert 'imagenet2012:5.1.0' in capsys.readouterr().out


def test_criteo_days_are_split_into_numbered_files_and_checked(tmp_path):
  import gzip  # pylint: disable=g-import-not-at-top

  raw = tmp_path / 'raw'
  raw.mkdir()
  for day in range(24):
    lines = b''.join(b'%d\tline %d\n' % (day, i) for i in range(10 if day == 23 else 5))
    if day % 2:
      (raw / f'day_{day}.gz').write_bytes(gzip.compress(lines))
    else:
      (raw / f'day_{day}').write_bytes(lines)
  with pytest.raises(FileNotFoundError, match='no validation files'):  # day 23_19 onwards
    prepare_data.prepare_criteo(str(tmp_path / 'data'), str(raw), lines_per_file=4)
  data = tmp_path / 'data'
  assert sorted(p.name for p in data.glob('day_1_*')) == ['day_1_00', 'day_1_01']
  assert (data / 'day_1_01').read_bytes() == b'1\tline 4\n'
  assert (data / 'day_23_02').read_bytes() == b'23\tline 8\n23\tline 9\n'
  # The real day 23 has 36 files: files 00-18 are test, 19-35 validation; here 3 files of
  # test and none of validation.
  assert prepare_data.check_criteo(str(data), {'test': 10}) == {'test': 10}
  with pytest.raises(ValueError, match='expected'):
    prepare_data.check_criteo(str(data), {'test': 11})
  with pytest.raises(FileNotFoundError, match='day_5'):
    (raw / 'day_5').unlink()
    prepare_data.prepare_criteo(str(tmp_path / 'other'), str(raw), lines_per_file=4)
