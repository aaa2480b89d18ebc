"""The log-mel front end of the Conformer (spec §5.1), lingvo's recipe, with no parameters.

Raw 16 kHz samples (int16 range) -> frames of 401 samples every 160 (no end padding) ->
HTK pre-emphasis (0.97) -> periodic Hann window of 400 -> |rfft_512|^2 -> 80 mel bins
(125-7,600 Hz, HTK mel, DC bin zeroed) -> log(max(., 1e-5)) -> per-bin normalisation by
LibriSpeech statistics. A frame is padding when every sample of its window is (the minimum
of the sample paddings over the window).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

SAMPLE_RATE = 16_000
FRAME_STEP = 160  # 10 ms
FRAME_LENGTH = 401  # a 25 ms window of 400 samples, plus 1 for the pre-emphasis
WINDOW = FRAME_LENGTH - 1
FFT_SIZE = 512
NUM_MEL_BINS = 80
LOWER_EDGE_HZ, UPPER_EDGE_HZ = 125.0, 7_600.0
PREEMPHASIS = 0.97
LOG_FLOOR = 1e-5
INPUT_SCALE = 2.0**-15

# Per-bin mean and standard deviation of the log-mel features over LibriSpeech (lingvo's
# constants, as AlgoPerf's preprocessor hard-codes them).
LIBRISPEECH_MEAN = np.float32([
    -7.6047816276550293, -7.1206226348876953, -6.8864245414733887, -6.8705768585205078,
    -6.9667720794677734, -7.1084094047546387, -6.9528026580810547, -6.783994197845459,
    -6.6195521354675293, -6.4876265525817871, -6.4120659828186035, -6.394047737121582,
    -6.4244871139526367, -6.3993711471557617, -6.5158271789550781, -6.7137999534606934,
    -6.8476877212524414, -6.9885001182556152, -6.9221386909484863, -7.146148681640625,
    -7.2040400505065918, -7.0537552833557129, -7.3140382766723633, -7.1223249435424805,
    -7.30251407623291, -7.1212143898010254, -7.2425732612609863, -7.1730537414550781,
    -7.0979413986206055, -7.088747501373291, -6.9849910736083984, -6.8787732124328613,
    -6.7602753639221191, -6.6300945281982422, -6.5145769119262695, -6.4245057106018066,
    -6.356513500213623, -6.31787633895874, -6.2660770416259766, -6.2468328475952148,
    -6.2821526527404785, -6.1908388137817383, -6.2484354972839355, -6.1472640037536621,
    -6.0924725532531738, -6.0171003341674805, -5.9250402450561523, -5.8535833358764648,
    -5.8209109306335449, -5.8118929862976074, -5.80783748626709, -5.7714629173278809,
    -5.7453732490539551, -5.7705655097961426, -5.7765641212463379, -5.7831673622131348,
    -5.7954087257385254, -5.7994823455810547, -5.8023476600646973, -5.8047118186950684,
    -5.8168182373046875, -5.8844799995422363, -5.9727106094360352, -6.0444660186767578,
    -6.1284866333007812, -6.2257585525512695, -6.3157496452331543, -6.39061164855957,
    -6.4928598403930664, -6.5498456954956055, -6.6054320335388184, -6.6508378982543945,
    -6.66917610168457, -6.6726889610290527, -6.684234619140625, -6.6974577903747559,
    -6.75471830368042, -6.7949142456054688, -6.8634209632873535, -6.94186544418335])
LIBRISPEECH_STD = np.float32([
    3.4353282451629639, 3.5962932109832764, 3.7012472152709961, 3.7369205951690674,
    3.7535104751586914, 3.693629264831543, 3.6922497749328613, 3.7641522884368896,
    3.8419716358184814, 3.8999848365783691, 3.9294240474700928, 3.9317409992218018,
    3.9139585494995117, 3.9031598567962646, 3.8691999912261963, 3.8155081272125244,
    3.7644970417022705, 3.7099106311798096, 3.6965086460113525, 3.6003766059875488,
    3.5493226051330566, 3.5465121269226074, 3.45003604888916, 3.4712812900543213,
    3.4084610939025879, 3.4408135414123535, 3.4104881286621094, 3.4217638969421387,
    3.4312851428985596, 3.4199209213256836, 3.4305806159973145, 3.4382665157318115,
    3.4580366611480713, 3.4817991256713867, 3.4958710670471191, 3.5036792755126953,
    3.5047574043273926, 3.4988734722137451, 3.493056058883667, 3.4822943210601807,
    3.459430456161499, 3.4612770080566406, 3.4559063911437988, 3.4755423069000244,
    3.4971549510955811, 3.5326557159423828, 3.5705199241638184, 3.5920312404632568,
    3.596907377243042, 3.5913500785827637, 3.5865931510925293, 3.5826809406280518,
    3.5837743282318115, 3.5895791053771973, 3.5819313526153564, 3.5837869644165039,
    3.5861184597015381, 3.5889589786529541, 3.592214822769165, 3.5939455032348633,
    3.5856630802154541, 3.5884113311767578, 3.5921022891998291, 3.5870490074157715,
    3.5806570053100586, 3.5731067657470703, 3.5617532730102539, 3.54980731010437,
    3.5527374744415283, 3.5475366115570068, 3.5387849807739258, 3.5256178379058838,
    3.5031836032867432, 3.4922726154327393, 3.4879646301269531, 3.4725594520568848,
    3.4558389186859131, 3.4351828098297119, 3.4284293651580811, 3.4299170970916748])


def num_frames(num_samples: int) -> int:
  """Frames of a signal of `num_samples` (no end padding): 1,998 for 320,000."""
  return (num_samples - FRAME_LENGTH) // FRAME_STEP + 1


def hertz_to_mel(hertz):
  return 1127.0 * np.log1p(np.asarray(hertz, np.float64) / 700.0)


def mel_weight_matrix(num_mel_bins: int = NUM_MEL_BINS,
                      num_spectrogram_bins: int = FFT_SIZE // 2 + 1,
                      sample_rate: float = SAMPLE_RATE, lower_hz: float = LOWER_EDGE_HZ,
                      upper_hz: float = UPPER_EDGE_HZ) -> np.ndarray:
  """(num_spectrogram_bins, num_mel_bins) triangular filters, linear in mel, the DC row 0.

  Band i rises from mel edge i to i + 1 and falls to i + 2, the num_mel_bins + 2 edges
  evenly spaced in mel between the two edge frequencies (tf.signal's construction).
  """
  linear_hz = np.linspace(0.0, sample_rate / 2, num_spectrogram_bins)[1:]
  bins_mel = hertz_to_mel(linear_hz)[:, None]
  edges = np.linspace(hertz_to_mel(lower_hz), hertz_to_mel(upper_hz), num_mel_bins + 2)
  lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
  rising = (bins_mel - lower) / (center - lower)
  falling = (upper - bins_mel) / (upper - center)
  weights = np.maximum(0.0, np.minimum(rising, falling))
  return np.pad(weights, [(1, 0), (0, 0)]).astype(np.float32)


def hann_window(length: int = WINDOW) -> np.ndarray:
  """The periodic Hann window: 0.5 - 0.5 cos(2 pi n / length), n < length."""
  n = np.arange(length)
  return (0.5 - 0.5 * np.cos(2 * np.pi * n / length)).astype(np.float32)


def frame(signal: jax.Array, length: int = FRAME_LENGTH, step: int = FRAME_STEP) -> jax.Array:
  """(B, T) -> (B, num_frames, length) overlapping frames starting every `step` samples.

  Built from whole chunks of `step` samples (a reshape and a few shifted views), not a
  gather, so it costs about as much as copying the frames.
  """
  batch, samples = signal.shape
  count = (samples - length) // step + 1
  chunks_per_frame = math.ceil(length / step)
  usable = (count + chunks_per_frame - 1) * step
  signal = jnp.pad(signal[:, :usable], ((0, 0), (0, max(0, usable - samples))))
  chunks = signal.reshape(batch, -1, step)
  windows = jnp.concatenate([chunks[:, i:i + count] for i in range(chunks_per_frame)], axis=-1)
  return windows[..., :length]


def frame_paddings(paddings: jax.Array, length: int = FRAME_LENGTH,
                   step: int = FRAME_STEP) -> jax.Array:
  """(B, T) sample paddings -> (B, num_frames): the minimum over each frame's window."""
  return jax.lax.reduce_window(paddings, 1.0, jax.lax.min, (1, length), (1, step), 'VALID')


def log_mel(samples: jax.Array, paddings: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Normalised log-mel features (B, frames, 80) and frame paddings (B, frames)."""
  samples = samples.astype(jnp.float32) * INPUT_SCALE * (1.0 - paddings)
  frames = frame(samples)
  # HTK pre-emphasis: the first sample scaled by (1 - a), then x[n] - a x[n - 1]; the frame's
  # last (401st) sample is not used.
  emphasised = jnp.concatenate([
      frames[..., :1] * (1.0 - PREEMPHASIS),
      frames[..., 1:-1] - PREEMPHASIS * frames[..., :-2]], axis=-1)
  spectrum = jnp.fft.rfft(emphasised * hann_window(), FFT_SIZE, axis=-1)
  power = jnp.real(spectrum)**2 + jnp.imag(spectrum)**2
  mel = power @ mel_weight_matrix()
  features = (jnp.log(jnp.maximum(mel, LOG_FLOOR)) - LIBRISPEECH_MEAN) / LIBRISPEECH_STD
  return features, frame_paddings(paddings.astype(jnp.float32))
