"""The network's jobs as the window shows them: progress, results, failures, status lines."""

from __future__ import annotations

from app.jobs.job_queue import VIEW, EnhanceJob
from app.photos import Photo
from app.views.scales_view import SCALES
from app.window.job_status import format_eta


class JobsMixin:
    """Part of `MainWindow` (app/main_window.py); reads and sets the window's attributes."""

    # --- the network's progress -------------------------------------------------------------

    def _on_job_event(self, job: EnhanceJob) -> None:
        what = "Exporting" if VIEW not in job.purposes else "Enhancing"
        self.job_status.show_job(
            f"{what} {job.photo.name} at x{job.scale}", job.fraction, job.eta_s()
        )
        if job.photo is self._current:
            self._update_view_status()

    def _on_busy(self, busy: bool) -> None:
        if not busy and not self.export_queue.is_busy():
            self.job_status.clear()

    def _on_result(self, photo: Photo, scale: int) -> None:
        self._notes.pop((photo.id, scale), None)
        if photo is self._current:
            self.compare_view.refresh()
            self.scales_view.refresh()
            self._update_view_status()
        self._show_device()
        self._evict()

    def _on_job_failed(self, job: EnhanceJob, message: str) -> None:
        self._notes[(job.photo.id, job.scale)] = f"Failed: {message}"
        self._update_view_status()
        self._show_device()
        if VIEW in job.purposes:
            self.report_error(
                "Could not enhance the photo", f"{job.photo.name} at x{job.scale}: {message}"
            )

    def _on_job_cancelled(self, job: EnhanceJob) -> None:
        self._notes[(job.photo.id, job.scale)] = "Cancelled · Ctrl+R enhances again"
        self._update_view_status()

    def _status_for(self, photo: Photo, scale: int) -> str:
        if scale in photo.results:
            return ""
        job = self.jobs.find(photo, scale)
        if job is not None:
            if job is self.jobs.current and job.total:
                return (
                    f"Enhancing at x{scale}… {job.fraction * 100:.0f} % · {format_eta(job.eta_s())}"
                )
            if job is self.jobs.current:
                return f"Enhancing at x{scale}…"
            return f"Waiting for x{scale}…"
        return self._notes.get((photo.id, scale), "Not enhanced yet · Ctrl+R")

    def _update_view_status(self) -> None:
        photo = self._current
        if photo is None:
            return
        self.compare_view.set_status(self._status_for(photo, self.settings.scale))
        for scale in SCALES:
            self.scales_view.set_status(scale, self._status_for(photo, scale))

    def cancel_jobs(self) -> None:
        self.jobs.cancel(purpose=VIEW)
        if self.export_queue.is_busy():
            self.export_queue.cancel()

    def _show_device(self) -> None:
        name = self.provider.device_name
        self.device_label.setText(f"Device: {name}" if name else "Device: starts with first photo")
