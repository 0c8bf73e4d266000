"""Running the timer worker: a thread inside the web app (the single-machine default) or Celery on Redis."""
