"""Passwords, access tokens and refresh-token sessions of todohub (no web framework)."""
