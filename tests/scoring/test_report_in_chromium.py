"""The report opened in headless Chromium: every figure renders, nothing is fetched, the
console stays clean. Skipped where Chromium is not installed, except in CI (`CI` set), where
`.ci/install_chromium.sh` installs it before the tests."""

import os
import struct

import pytest

from scoring import write_report
from scripts import headless_chromium
from tests.scoring import report_fixture


@pytest.fixture(scope='module')
def chromium():
  path = headless_chromium.find_chromium()
  if path is None:
    if os.environ.get('CI'):
      pytest.fail('chromium is not installed and CI is set; .ci/install_chromium.sh installs it')
    pytest.skip('chromium is not installed (.ci/install_chromium.sh installs it)')
  return path


def _png_size(data: bytes) -> tuple[int, int]:
  assert data[:8] == b'\x89PNG\r\n\x1a\n'
  return struct.unpack('>II', data[16:24])


def test_report_renders_every_figure_without_errors(chromium, tmp_path):
  root = report_fixture.write_logs(tmp_path / 'logs')
  report = write_report(root, report_fixture.leaderboard(root), tmp_path / 'report.html')
  rendered = headless_chromium.render(report, screenshot_height=1200, chromium=chromium)
  assert rendered.errors == []
  assert rendered.requests == []
  alts = [alt for alt, _, _, _ in rendered.images]
  assert alts == ['performance profiles', 'ogbg validation curves', 'wmt validation curves']
  assert all(complete and width > 0 and height > 0
             for _, complete, width, height in rendered.images)
  assert rendered.height > 2000  # tables and three figures laid out
  assert _png_size(rendered.screenshot) == (1280, 1200)


def test_the_check_sees_a_broken_page(chromium, tmp_path):
  page = tmp_path / 'broken.html'
  page.write_text('<!doctype html><img alt="gone" src="missing.png">'
                  '<img alt="remote" src="http://127.0.0.1:9/x.png"><svg></svg>'
                  "<script>console.error('boom')</script>", encoding='utf-8')
  rendered = headless_chromium.render(page, chromium=chromium, timeout_s=60)
  assert [(alt, width) for alt, _, width, _ in rendered.images] == [('gone', 0), ('remote', 0)]
  assert rendered.svg_elements == [0]
  assert 'console.error: boom' in rendered.errors
  assert any('ERR_FILE_NOT_FOUND' in e for e in rendered.errors)
  assert rendered.requests == ['http://127.0.0.1:9/x.png']
