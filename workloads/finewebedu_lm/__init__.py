"""finewebedu_lm: a decoder-only language model on GPT-2 tokens of FineWeb-Edu (spec §10)."""
