"""UltraIS desktop app (PySide6). Never imports torch: only `app.jobs.worker` reaches the engine,
and only on a worker thread."""

__version__ = "0.1.0"
