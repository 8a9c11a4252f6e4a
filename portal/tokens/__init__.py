"""API tokens: how other systems authenticate to the JSON API (only hashes are stored)."""
