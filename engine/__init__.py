"""Kesu's workflow engine: SpiffWorkflow plus versioned specs, a sandbox, persistence and history.

Nothing in this package imports Flask; callers pass a SQLAlchemy session and commit it.
"""
