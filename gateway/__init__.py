"""RepoNet's gateway: the FastAPI service and the ``reponet`` CLI."""
