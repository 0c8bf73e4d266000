"""The repository: diagrams and decision tables checked before they are published, published as immutable numbered
versions per company, shared drafts, specs parsed once per content hash, and the listings pages read."""
