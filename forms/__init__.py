"""Forms: page forms by area (WTForms), the built-in task forms declared as plain field specs (builtin_fields, which
the Flask-free engine reads too), and the WTForms classes built from a task's fields (builder)."""
