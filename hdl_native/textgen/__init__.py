"""Character-level text generation (the tutorial's chapter 9): corpus and vocabulary, the TBPTT trainer, sampling."""
