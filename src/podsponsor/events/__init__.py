"""The event log: every state change of note, written in the same transaction as the change."""
