"""Jobs: what falls due without anyone asking (timers, periodic starts), found by an indexed time and claimed one case
per transaction by whichever worker runs them."""
