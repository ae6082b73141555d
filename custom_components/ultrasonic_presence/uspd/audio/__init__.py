"""Audio sources: where multi-channel microphone blocks come from (and emission goes to)."""
