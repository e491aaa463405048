"""Agencies and the administrative procedures they deliver online."""
