"""Keys at rest: versioned master keys (behind a provider interface) and AES-256-GCM envelope encryption."""
