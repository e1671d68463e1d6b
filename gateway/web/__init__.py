"""The web app: static ES modules served by the gateway, same origin as the API (no build step)."""
