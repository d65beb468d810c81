"""One queue worker for the benchmark: ``bot.worker.run(app)`` with the app built from the
same environment variables as ``bench/ours_wsgi.py``::

    python -m bench.worker_main
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    os.environ["BENCH_BUILD_APP"] = "0"
    from bench.ours_wsgi import build_app
    from bot import worker
    worker.run(build_app())


if __name__ == "__main__":
    main()
