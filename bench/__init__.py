"""Kesu's benchmark (`python -m bench`): the engine's step cost against raw SpiffWorkflow, with persistence, and over
long loops."""
