"""Transcripts to token ids and back (spec §5.3): SentencePiece for LibriSpeech, characters for
the synthetic sibling.

The SentencePiece model is AlgoPerf's: unigram, 1,024 pieces, character coverage 1.0,
trained on the train-clean-100 transcripts (up to 1e7 characters), default special ids
(<unk> 0, which serves as the CTC blank, <s> 1, </s> 2); encoding appends </s> and adds no
<s>. Only the `sentencepiece` package is needed, to train, encode and decode.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence

VOCAB_SIZE = 1024
MAX_CHARACTERS = 10_000_000
MODEL_FILE = 'spm_model.vocab'  # AlgoPerf's name for the (binary) model file in data_dir


class SentencePieceTokenizer:
  """Encodes with </s> appended; decodes ids (control ids such as </s> drop out)."""

  def __init__(self, model_path: str):
    import sentencepiece as spm  # pylint: disable=g-import-not-at-top

    with open(model_path, 'rb') as f:
      self._sp = spm.SentencePieceProcessor(model_proto=f.read())

  @property
  def vocab_size(self) -> int:
    return self._sp.get_piece_size()

  def encode(self, text: str) -> list[int]:
    return self._sp.encode(text, add_bos=False, add_eos=True)

  def decode(self, ids: Sequence[int]) -> str:
    return self._sp.decode([int(i) for i in ids])


def train_sentencepiece(transcripts: Iterable[str], model_path: str,
                        vocab_size: int = VOCAB_SIZE,
                        max_characters: int = MAX_CHARACTERS) -> str:
  """Trains the unigram model on `transcripts` (one per line, counted with their newline
  until `max_characters` would be passed) and writes it to `model_path`."""
  import sentencepiece as spm  # pylint: disable=g-import-not-at-top

  lines, count = [], 0
  for text in transcripts:
    count += len(text) + 1
    if count > max_characters:
      break
    lines.append(text)
  model = io.BytesIO()
  spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model,
                                 vocab_size=vocab_size, character_coverage=1.0,
                                 model_type='unigram', minloglevel=2)
  os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
  with open(model_path, 'wb') as f:
    f.write(model.getvalue())
  return model_path


class CharacterTokenizer:
  """One id per character of `alphabet` (ids from 1, 0 being the blank); ' ' is a word break.

  >>> t = CharacterTokenizer('ab ')
  >>> t.encode('ab ba'), t.decode([1, 2, 3, 2, 1])
  ([1, 2, 3, 2, 1], 'ab ba')
  """

  def __init__(self, alphabet: str):
    self.alphabet = alphabet
    self._ids = {c: i for i, c in enumerate(alphabet, 1)}

  @property
  def vocab_size(self) -> int:
    return len(self.alphabet) + 1

  def encode(self, text: str) -> list[int]:
    return [self._ids[c] for c in text]

  def decode(self, ids: Sequence[int]) -> str:
    return ''.join(self.alphabet[i - 1] for i in ids if 0 < i <= len(self.alphabet))
