"""Looking inside training: read the SQLite log, draw it, and evaluate saved models."""
