"""Liveness, readiness and Prometheus metrics for the gateway: ``/healthz``, ``/readyz``, ``/metrics``."""
