"""The complaint domain: what a complaint records, how it is numbered and registered."""
