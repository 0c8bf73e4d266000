"""Business calendars: working-time arithmetic on a calendar (working_time) and the calendars each company's admins
keep (company)."""
