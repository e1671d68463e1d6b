"""``reponet up``: one command brings up a node (or uses an existing chain), the system contracts and the gateway."""
