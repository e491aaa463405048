"""HTTP routes of the identity domain."""
