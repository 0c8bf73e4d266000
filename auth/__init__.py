"""Companies, users, groups and roles."""
