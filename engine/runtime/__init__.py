"""The runtime: the steps a case takes (start, claim, release, complete, fire timers) in the caller's transaction,
the serializer, the sandbox and evaluators diagram code runs in, form data, assignments, due dates, decision tables
at run time, moving running cases to a newer version and an admin's corrections."""
