"""OpenID Connect identity providers that agencies plug in; we are their relying party."""
