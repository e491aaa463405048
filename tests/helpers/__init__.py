"""Plain helpers the tests share: constants, builders, HTTP steps. Fixtures stay in conftest.py."""
