"""RepoNet's gateway: the FastAPI service and the ``reponet`` CLI."""

__version__ = "0.1.0"
