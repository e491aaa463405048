"""Administrative dossiers: drafts, attachments, submission, the one-stop workflow, tracking."""
