"""Who is calling: citizens and staff, phone OTP, TOTP, our tokens, device sessions."""
