"""HTTP routes for petitions and ratings."""
