"""What senders, officers and citizens do with petitions and ratings."""
