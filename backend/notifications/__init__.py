"""Messages that leave the process: SMS today; push, e-mail and the in-app inbox to come."""
