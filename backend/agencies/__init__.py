"""Agencies and their tree: the scope every officer, dossier and report is bound to."""
