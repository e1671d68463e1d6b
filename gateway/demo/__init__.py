"""``reponet demo``: a guided story of a repo's whole life on a running network."""
