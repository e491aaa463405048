"""Working days, office hours and legal deadlines, shared by dossiers and feedback."""
