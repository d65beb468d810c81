"""Exit 0 when the URL answers 200 (the image's and compose's health checks; standard library only).

    python healthcheck.py http://127.0.0.1:8000/readyz
"""
import sys
import urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/healthz"
try:
    with urllib.request.urlopen(url, timeout=4) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy"
    print(f"unhealthy: {url}: {type(exc).__name__}", file=sys.stderr)
    sys.exit(1)
