"""The history: each case's chain of sealed events and the anchor outside the database, replay step by step,
re-execution of recorded inputs, and heatmaps across cases."""
