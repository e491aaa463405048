"""HTTP routes of identity providers: sign-in through them, and their administration."""
