"""Opens a local HTML file in headless Chromium and says how it rendered.

Usage: python scripts/headless_chromium.py PAGE.html [--screenshot OUT.png] [--height PX]
                                          [--palette]

docs/report.png is `--screenshot docs/report.png --height 10000 --palette` of the report of
`avgperf suite --suite=quick --num_studies=3` with nadamw_many_averages added to its
submissions. The exit status is 1 when an image did not load, an error was logged, or the
page requested anything from the network.

Talks to Chromium over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands
on its fd 3, replies and events on its fd 4, each a JSON message ended by a NUL byte), so it
needs no package beyond the standard library and opens no port. What it reports
(`Rendered`): every <img> with its natural size, every inline <svg> with its number of
elements, the console errors and uncaught exceptions, and every request the page made to
anything but `file:` and `data:` URLs (a self-contained page makes none). Chromium runs as
root in containers, hence `--no-sandbox`; a fresh profile folder each time.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--remote-debugging-pipe')

# What the page reports about its figures, evaluated in it once it has loaded.
_FIGURES_JS = """JSON.stringify({
  images: Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,
      width: i.naturalWidth, height: i.naturalHeight})),
  svgs: Array.from(document.querySelectorAll('svg')).map(s => s.querySelectorAll('*').length),
  height: document.documentElement.scrollHeight})"""


def find_chromium() -> str | None:
  """The Chromium executable on the PATH (Debian's `chromium`), or None."""
  for name in ('chromium', 'chromium-browser', 'google-chrome'):
    if shutil.which(name):
      return shutil.which(name)
  return None


@dataclasses.dataclass
class Rendered:
  """How a page rendered.

  Attributes:
    images: one (alt, complete, natural width, natural height) per <img>.
    svg_elements: the number of elements inside each inline <svg>.
    errors: console errors, uncaught exceptions and error log entries, one line each.
    requests: URLs requested that are neither `file:` nor `data:`.
    height: the page's height in CSS pixels.
    screenshot: the PNG bytes, when one was asked for.
  """

  images: list[tuple[str, bool, int, int]]
  svg_elements: list[int]
  errors: list[str]
  requests: list[str]
  height: int
  screenshot: bytes | None = None


class _Pipe:
  """The DevTools protocol over Chromium's pipe: numbered commands, events collected."""

  def __init__(self, to_browser: int, from_browser: int, timeout_s: float):
    self._out, self._in, self._timeout_s = to_browser, from_browser, timeout_s
    self._buffer, self._next_id, self.events = b'', 0, []

  def _read_message(self, deadline: float) -> dict:
    while b'\0' not in self._buffer:
      ready, _, _ = select.select([self._in], [], [], max(0.0, deadline - time.monotonic()))
      chunk = os.read(self._in, 1 << 20) if ready else b''
      if not chunk:
        raise TimeoutError('Chromium did not answer in time (or exited)')
      self._buffer += chunk
    message, _, self._buffer = self._buffer.partition(b'\0')
    return json.loads(message)

  def send(self, method: str, session: str | None = None, **params) -> dict:
    """Sends a command and waits for its result; events meanwhile go to `self.events`."""
    self._next_id += 1
    message = {'id': self._next_id, 'method': method, 'params': params}
    if session:
      message['sessionId'] = session
    os.write(self._out, json.dumps(message).encode() + b'\0')
    deadline = time.monotonic() + self._timeout_s
    while True:
      reply = self._read_message(deadline)
      if reply.get('id') == self._next_id:
        if 'error' in reply:
          raise RuntimeError(f'{method}: {reply["error"]}')
        return reply.get('result', {})
      self.events.append(reply)

  def wait_for(self, method: str) -> dict:
    """Waits for the first event `method` (already received ones count)."""
    deadline = time.monotonic() + self._timeout_s
    for event in self.events:
      if event.get('method') == method:
        return event
    while True:
      event = self._read_message(deadline)
      self.events.append(event)
      if event.get('method') == method:
        return event


def _errors(events: list[dict]) -> list[str]:
  lines = []
  for event in events:
    method, params = event.get('method'), event.get('params', {})
    if method == 'Runtime.consoleAPICalled' and params.get('type') in ('error', 'assert'):
      text = ' '.join(str(a.get('value', a.get('description', ''))) for a in params['args'])
      lines.append(f'console.{params["type"]}: {text}')
    elif method == 'Runtime.exceptionThrown':
      lines.append(f'exception: {params["exceptionDetails"].get("text", "")}')
    elif method == 'Log.entryAdded' and params['entry'].get('level') == 'error':
      lines.append(f'log: {params["entry"].get("text", "")}')
  return lines


def _requests(events: list[dict]) -> list[str]:
  urls = [e['params']['request']['url'] for e in events
          if e.get('method') == 'Network.requestWillBeSent']
  return [u for u in urls if not u.startswith(('file:', 'data:'))]


def _inspect(pipe: _Pipe, url: str, width: int, screenshot_height: int | None) -> Rendered:
  """Opens `url` in a new tab and reads what rendered."""
  target = pipe.send('Target.createTarget', url='about:blank')['targetId']
  session = pipe.send('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
  for domain in ('Runtime', 'Log', 'Page', 'Network'):
    pipe.send(f'{domain}.enable', session)
  pipe.send('Emulation.setDeviceMetricsOverride', session, width=width, height=900,
            deviceScaleFactor=1, mobile=False)
  pipe.send('Page.navigate', session, url=url)
  pipe.wait_for('Page.loadEventFired')
  found = json.loads(pipe.send('Runtime.evaluate', session, expression=_FIGURES_JS,
                               returnByValue=True)['result']['value'])
  shot = None
  if screenshot_height:
    clip = {'x': 0, 'y': 0, 'width': width, 'height': min(screenshot_height, found['height']),
            'scale': 1}
    shot = base64.b64decode(pipe.send('Page.captureScreenshot', session, format='png',
                                      clip=clip, captureBeyondViewport=True)['data'])
  events = [e for e in pipe.events if e.get('sessionId') in (session, None)]
  return Rendered(
      images=[(i['alt'], i['complete'], i['width'], i['height']) for i in found['images']],
      svg_elements=found['svgs'], errors=_errors(events), requests=_requests(events),
      height=found['height'], screenshot=shot)


def render(page: str | os.PathLike, screenshot_height: int | None = None, width: int = 1280,
           timeout_s: float = 120.0, chromium: str | None = None) -> Rendered:
  """Opens `page` (a local file) in headless Chromium and reports how it rendered.

  Args:
    page: the HTML file.
    screenshot_height: also capture the top of the page, this many CSS pixels (None: no).
    width: the window's width in CSS pixels.
    timeout_s: the longest wait for any one answer of the browser.
    chromium: the executable (default: `find_chromium()`).

  Returns:
    What rendered.
  """
  executable = chromium or find_chromium()
  if executable is None:
    raise FileNotFoundError('chromium is not installed (.ci/install_chromium.sh installs it)')
  to_browser_r, to_browser_w = os.pipe()
  from_browser_r, from_browser_w = os.pipe()
  with tempfile.TemporaryDirectory(prefix='chromium-profile-') as profile:
    # bash puts the pipe ends on the fds 3 and 4 the protocol reads and writes.
    command = ['bash', '-c', f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}', 'chromium',
               executable, *FLAGS, f'--user-data-dir={profile}', 'about:blank']
    process = subprocess.Popen(command, pass_fds=(to_browser_r, from_browser_w),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_browser_r)
    os.close(from_browser_w)
    pipe = _Pipe(to_browser_w, from_browser_r, timeout_s)
    try:
      return _inspect(pipe, Path(page).resolve().as_uri(), width, screenshot_height)
    finally:
      try:
        pipe.send('Browser.close')
      except (OSError, TimeoutError, RuntimeError):
        pass
      try:
        process.wait(timeout=30)
      except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
      os.close(to_browser_w)
      os.close(from_browser_r)


def _write_png(data: bytes, path: str, palette: bool) -> None:
  if not palette:
    Path(path).write_bytes(data)
    return
  from PIL import Image  # pylint: disable=g-import-not-at-top (matplotlib's dependency)

  image = Image.open(io.BytesIO(data)).convert('RGB')
  image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
      path, optimize=True)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('page')
  parser.add_argument('--screenshot', help='write the top of the page as a PNG here')
  parser.add_argument('--height', type=int, default=2000,
                      help='CSS pixels of the page the screenshot shows')
  parser.add_argument('--palette', action='store_true',
                      help='write the screenshot with 256 colors (a third of the bytes)')
  args = parser.parse_args()
  rendered = render(args.page, args.height if args.screenshot else None)
  for alt, complete, w, h in rendered.images:
    print(f'img {alt!r}: {"loaded" if complete else "NOT loaded"}, {w}x{h}')
  print(f'inline svgs: {len(rendered.svg_elements)}; page height {rendered.height} px')
  for line in rendered.errors + [f'request: {u}' for u in rendered.requests]:
    print(line)
  if args.screenshot:
    _write_png(rendered.screenshot, args.screenshot, args.palette)
    print(f'wrote {args.screenshot}')
  bad = rendered.errors or rendered.requests or any(
      not c or w == 0 for _, c, w, _ in rendered.images)
  return 1 if bad else 0


if __name__ == '__main__':
  sys.exit(main())
