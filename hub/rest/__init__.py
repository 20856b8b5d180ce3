"""REST routes for scripts: writes go through hub.dispatch like socket commands."""
