"""Follows the engine's events into the database: resumes from its cursor, never applies an event twice."""
