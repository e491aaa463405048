"""Dossier use cases, one module per concern."""
