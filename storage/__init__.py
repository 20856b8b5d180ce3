"""Persistence of todohub: tables, migrations, and the one function that applies a command."""
