"""The CPU a DPoP proof check costs a request, next to the bare JWS verification inside it.

    .venv/bin/python bench/dpop.py [-n 3000] [--alg ES256|EdDSA|PS256] [--redis redis://...]

Signs N proofs (each its own jti, for one URL and access token, the way a phone sends them),
then times with ``time.process_time`` (this process's CPU, all threads; Redis's own CPU is not
in it) two loops over them, alternating, three rounds each, keeping each one's best:

- ``check``: ``backend.identity.dpop.verify_proof`` in a request context, as ``check_access``
  calls it: size and shape, the header's key (parsed once per distinct header), the signature,
  htm, htu, iat, ath, the jti remembered (this process's memory, or Redis with ``--redis``);
- ``bare``: ``joserfc.jws.deserialize_compact`` of the same proofs with the key already imported,
  the least any check must do.

It prints the milliseconds of CPU per check and the ratio check / bare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from joserfc import jws
from joserfc.jwk import JWKRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend import create_app
from backend.identity import dpop
from backend.identity.dpop import request_url, verify_proof
from tests.helpers.dpop import DeviceKey

PATH = "/api/v1/dossiers/01JD0000000000000000000000"
TOKEN = "eyJhbGciOiJFUzI1NiJ9." + "A" * 400 + ".sig"  # only its hash (ath) matters here
KINDS = {"ES256": "EC", "EdDSA": "OKP", "PS256": "RSA", "RS256": "RSA"}


def _time(run) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3000, help="proofs per round")
    parser.add_argument("--alg", default="ES256", choices=sorted(KINDS))
    parser.add_argument("--redis", default=None, help="remember jti in this Redis")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    instance = tempfile.mkdtemp(prefix="bench-dpop-")
    app = create_app(
        {
            "INSTANCE_PATH": instance,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/bench.sqlite3",
            "REDIS_URL": args.redis,
            "APP_ENV": "testing",
            # Proofs are made before the rounds: let them stay fresh for the whole run.
            "DPOP_IAT_PAST_SECONDS": 3600,
        }
    )
    key = DeviceKey(KINDS[args.alg], args.alg)
    public = JWKRegistry.import_key(key.public_jwk())
    rounds = []
    for _ in range(args.rounds):
        rounds.append([key.proof("GET", PATH, token=TOKEN) for _ in range(args.n)])

    with app.test_request_context(PATH, method="GET"):
        url = request_url()

        def check(proofs):
            now = time.time()
            for proof in proofs:
                verify_proof(proof, method="GET", url=url, access_token=TOKEN, now=now)

        registry = dpop._registry(args.alg)  # joserfc's, with room for an RSA key's header

        def bare(proofs):
            for proof in proofs:
                jws.deserialize_compact(proof, public, registry=registry)

        best_check = best_bare = float("inf")
        for proofs in rounds:
            best_bare = min(best_bare, _time(lambda p=proofs: bare(p)))
            best_check = min(best_check, _time(lambda p=proofs: check(p)))
        cache = dpop._proof_key.cache_info()

    per_check = best_check / args.n * 1000
    per_bare = best_bare / args.n * 1000
    store = "Redis" if args.redis else "memory"
    print(f"DPoP proof check, {args.alg}, jti in {store}, {args.n} proofs, best of {args.rounds}")
    print(f"  check  {per_check:.3f} ms CPU per proof")
    print(f"  bare   {per_bare:.3f} ms CPU per JWS verification")
    print(f"  ratio  {per_check / per_bare:.2f}")
    print(f"  header cache: {cache.hits} hits, {cache.misses} misses")


if __name__ == "__main__":
    main()
