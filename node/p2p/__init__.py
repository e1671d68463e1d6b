"""Peering between RepoNet nodes: node keys, mutually authenticated TCP connections, node permissioning."""
