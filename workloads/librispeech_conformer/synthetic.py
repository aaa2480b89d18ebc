"""Synthetic speech for `librispeech_conformer_small`: log-mel-like frames of random-word
transcripts, made in memory.

Each character of the alphabet (and the word break ' ') has a fixed random spectral
template over the 80 mel bins: a few smooth bumps, like formants, on a slope, standardised
as the normalised log-mel features are. An utterance is 2-4 random words of 2-5 letters;
each character is held for a random number of frames (duration jitter), every frame its
template plus Gaussian noise, the utterance scaled by a random gain and shifted by a random
offset (a speaker). Frames after the utterance are zero and padded (paddings 1).
"""

from __future__ import annotations

import dataclasses

import numpy as np

ALPHABET = 'abcdefghijkl '  # twelve letters, then the word break


@dataclasses.dataclass(frozen=True)
class SpeechConfig:
  """Sizes and difficulty of the synthetic speech."""

  num_bins: int = 80
  max_frames: int = 160
  max_tokens: int = 32
  words: tuple[int, int] = (2, 4)  # inclusive range of words per utterance
  letters: tuple[int, int] = (2, 5)  # inclusive range of letters per word
  letter_frames: tuple[int, int] = (6, 10)  # inclusive range of frames per letter
  break_frames: tuple[int, int] = (3, 6)  # frames of a word break
  noise: float = 1.5  # std of the per-frame noise, against templates of std 1
  gain: tuple[float, float] = (0.8, 1.2)
  offset: float = 0.3  # std of the per-utterance offset


def spectral_templates(rng: np.random.Generator, num: int, num_bins: int) -> np.ndarray:
  """(num, num_bins) float32: per template, 3 Gaussian bumps of random centre, width and
  height on a random linear slope, standardised to mean 0 and std 1."""
  bins = np.arange(num_bins)[None, None, :]
  centers = rng.uniform(0, num_bins, (num, 3, 1))
  widths = rng.uniform(2, 8, (num, 3, 1))
  heights = rng.uniform(0.5, 2.0, (num, 3, 1))
  bumps = (heights * np.exp(-0.5 * ((bins - centers) / widths)**2)).sum(axis=1)
  slope = rng.uniform(-1, 1, (num, 1)) * np.linspace(-1, 1, num_bins)[None]
  templates = bumps + slope
  templates = (templates - templates.mean(1, keepdims=True)) / templates.std(1, keepdims=True)
  return templates.astype(np.float32)


def random_word(rng: np.random.Generator, config: SpeechConfig) -> str:
  """Random letters, no letter twice in a row (so that every transcript has a CTC alignment
  at the shortest durations: a doubled letter needs a blank frame between its two)."""
  letters = ALPHABET.replace(' ', '')
  word = [rng.integers(len(letters))]
  for _ in range(rng.integers(config.letters[0], config.letters[1], endpoint=True) - 1):
    word.append((word[-1] + rng.integers(1, len(letters))) % len(letters))
  return ''.join(letters[i] for i in word)


def random_transcript(rng: np.random.Generator, config: SpeechConfig) -> str:
  num_words = rng.integers(config.words[0], config.words[1], endpoint=True)
  return ' '.join(random_word(rng, config) for _ in range(num_words))


def render(rng: np.random.Generator, transcript: str, templates: np.ndarray,
           config: SpeechConfig) -> np.ndarray:
  """(frames, num_bins) features of `transcript`: each character's template held for its
  random duration, plus noise, gain and offset."""
  durations = [rng.integers(*(config.break_frames if c == ' ' else config.letter_frames),
                            endpoint=True) for c in transcript]
  ids = np.repeat([ALPHABET.index(c) for c in transcript], durations)
  frames = templates[ids] + config.noise * rng.standard_normal((len(ids), config.num_bins))
  gain = rng.uniform(*config.gain)
  return (gain * frames + config.offset * rng.standard_normal()).astype(np.float32)


def make_split(rng: np.random.Generator, num: int, templates: np.ndarray,
               config: SpeechConfig, encode) -> dict[str, np.ndarray]:
  """`num` utterances as padded arrays: 'inputs' (num, max_frames, bins), 'input_paddings'
  (num, max_frames), 'targets' (num, max_tokens) int32 and 'target_paddings'. An utterance
  whose frames would not fit is drawn again."""
  inputs = np.zeros((num, config.max_frames, config.num_bins), np.float32)
  input_paddings = np.ones((num, config.max_frames), np.float32)
  targets = np.zeros((num, config.max_tokens), np.int32)
  target_paddings = np.ones((num, config.max_tokens), np.float32)
  for i in range(num):
    while True:
      transcript = random_transcript(rng, config)
      features = render(rng, transcript, templates, config)
      if len(features) <= config.max_frames:
        break
    ids = encode(transcript)
    inputs[i, :len(features)] = features
    input_paddings[i, :len(features)] = 0.0
    targets[i, :len(ids)] = ids
    target_paddings[i, :len(ids)] = 0.0
  return {'inputs': inputs, 'input_paddings': input_paddings, 'targets': targets,
          'target_paddings': target_paddings}
