"""HTTP routes of the dossiers domain."""
