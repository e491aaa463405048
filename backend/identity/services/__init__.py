"""Identity use cases, one module per concern."""
