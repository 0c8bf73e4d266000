"""Accounts: companies, users, groups and roles; what each role may do (permissions); signed-in sessions and API
tokens; the directory the engine looks people up in; creating companies and users (provisioning)."""
