"""WTForms forms: complaint registration, built-in task forms by key, and forms built from diagram fields."""
