"""Catalog administration: procedures created, edited and moved through the API, audited."""
