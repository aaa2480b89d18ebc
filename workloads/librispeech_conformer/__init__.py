"""The Conformer on LibriSpeech (`librispeech_conformer`) and its sibling on synthetic speech."""
