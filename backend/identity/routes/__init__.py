"""HTTP routes of the identity domain."""

from flask import current_app

from backend import ratelimits
from backend.identity.access import current_principal


def _account_key() -> str:
    principal = current_principal()
    return f"totp-account:{principal.account_id}" if principal else "totp-account:-"


def _wrong_code(response) -> bool:
    return response.status_code == 401


# Wrong authenticator codes on a signed-in session, one count across step-up, confirm,
# recovery codes and disable: without it, a stolen access token could try the million codes
# until one of the three a 30-second window accepts comes up, then mint recovery codes.
totp_guesses_limited = ratelimits.limit(
    lambda: current_app.config["RATELIMIT_TOTP_PER_ACCOUNT"],
    scope="totp-guesses",
    key=_account_key,
    deduct_when=_wrong_code,
)
