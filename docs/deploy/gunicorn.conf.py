"""gunicorn settings for the web app (``gunicorn -c gunicorn.conf.py app:app``).

Every value can be changed from the environment (GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_THREADS).
With PROMETHEUS_MULTIPROC_DIR set, the workers' metrics are added up by /metrics; the folder is
created here and must be private to this service (a tmpfs: /run in systemd, a tmpfs volume in compose).
"""
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# The webhook answers in milliseconds; a request that takes longer than this is stuck.
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000  # a fresh process now and then; jitter spreads the restarts
max_requests_jitter = 500
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No access log: the app logs what it needs without addresses or paths that name a case; Caddy
# (or the VM's proxy) keeps its own access log with its own retention.
accesslog = None
errorlog = "-"
loglevel = "info"

if os.environ.get("LOG_FORMAT", "text").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "bot.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                 "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False}},
    }


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, mode=0o700, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
