"""Feedback and petitions (phản ánh, kiến nghị), and satisfaction ratings of dossiers."""
