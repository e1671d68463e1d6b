"""Members: organizations (legal entities) and their users."""
