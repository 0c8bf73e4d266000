"""Flask blueprints, one per area: auth, inbox and tasks, complaints, admin, JSON API."""
