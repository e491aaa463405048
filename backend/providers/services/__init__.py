"""Use cases of identity providers: the registry, the login broker, linking, ID token checks."""
