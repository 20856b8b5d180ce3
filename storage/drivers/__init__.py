"""The ways a group of commands reaches the database: the plain SQLAlchemy path (any
driver) and the fast paths straight on a driver (aiosqlite, asyncpg)."""
