"""The Export all dialog: a resumable batch into one folder, as the batch command writes it.

Offers what the command can express (JPEG/PNG/TIFF, quality, scale, an output folder; names
and sub-folders fixed as the command makes them), shows where the first photo goes and the
command line that resumes the batch, and says when the sliders make it a batch of its own.
Given each photo's own settings, the scale defaults to "each photo's own", and each photo's
sliders are applied whatever scale is chosen.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.develop.adjustments import Adjustments
from app.export.batch_plan import BATCH_FORMATS, BatchSetupError, BatchSpec, make_spec, plan_photos
from app.icons import icon
from ultrais_core.batch.planner import PlanError

SCALES = (1, 2, 4)
OWN_SCALE = 0  # the scale combo's data for "each photo's own"


class BatchExportDialog(QDialog):
    def __init__(
        self,
        *,
        sources: list[Path],
        fmt: str,
        quality: int,
        scale: int,
        folder: str,
        adjustments: Adjustments,
        precision: str = "auto",
        weights: Path | None = None,
        photo_settings: dict[Path, tuple[int, Adjustments]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._sources = sources
        self._photo_settings = photo_settings or {}
        self._adjustments = adjustments
        self._precision = precision
        self._weights = weights
        self.setWindowTitle(f"Export all ({len(sources)} photos)")
        self.setMinimumWidth(560)
        form = QFormLayout(self)

        self.format_combo = QComboBox(self)
        for key, label in BATCH_FORMATS:
            self.format_combo.addItem(label, key)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(fmt)))
        form.addRow("Format", self.format_combo)

        self.quality_spin = QSpinBox(self)
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(quality)
        form.addRow("Quality", self.quality_spin)

        self.scale_combo = QComboBox(self)
        if self._photo_settings:
            self.scale_combo.addItem("Each photo's own", OWN_SCALE)
            scale = OWN_SCALE
        for value in SCALES:
            self.scale_combo.addItem(f"x{value}", value)
        self.scale_combo.setCurrentIndex(max(0, self.scale_combo.findData(scale)))
        form.addRow("Scale", self.scale_combo)

        self.folder_edit = QLineEdit(folder, self)
        self.folder_edit.setPlaceholderText("Output folder (required)")
        browse = QPushButton(icon("folder-outline"), "Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        form.addRow("Output folder", row)

        self.preview_label = self._note(form)
        self.sliders_label = self._note(form)
        self.command_label = self._note(form)
        self.command_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export all")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

        for signal in (
            self.format_combo.currentIndexChanged,
            self.scale_combo.currentIndexChanged,
            self.quality_spin.valueChanged,
            self.folder_edit.textChanged,
        ):
            signal.connect(self._update)
        self._update()

    def _note(self, form: QFormLayout) -> QLabel:
        label = QLabel(self)
        label.setObjectName("dimLabel")
        label.setWordWrap(True)
        form.addRow("", label)
        return label

    def spec(self) -> BatchSpec:
        """The batch these choices make; raises BatchSetupError when they make none."""
        folder = self.folder_edit.text().strip()
        if not folder:
            raise BatchSetupError("Choose an output folder: the batch and its manifest go there.")
        scale = int(self.scale_combo.currentData())
        own = self._photo_settings
        if scale == OWN_SCALE:
            # The batch's own scale is the first photo's: the preview names that photo.
            first = own.get(self._sources[0])
            scale = first[0] if first else 2
        else:
            own = {path: (scale, adjustments) for path, (_s, adjustments) in own.items()}
        return make_spec(
            self._sources,
            Path(folder),
            scale=scale,
            fmt=str(self.format_combo.currentData()),
            quality=self.quality_spin.value(),
            precision=self._precision,
            adjustments=self._adjustments,
            weights=self._weights,
            photo_settings=own,
        )

    def problem(self) -> str | None:
        try:
            self.spec()
        except BatchSetupError as exc:
            return str(exc)
        return None

    def _update(self) -> None:
        self.quality_spin.setEnabled(self.format_combo.currentData() == "jpg")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            spec = self.spec()
        except BatchSetupError as exc:
            ok.setEnabled(False)
            self.preview_label.setText(f"⚠ {exc}")
            self.command_label.setText("")
            self.sliders_label.setText("")
            return
        ok.setEnabled(True)
        first = self._sources[0].resolve()
        try:
            planned = plan_photos(spec, [first]).photos.get(first)
        except PlanError:  # its folder vanished; the batch itself will say so
            planned = None
        where = spec.dst / (planned.output_rel if planned else first.parent.relative_to(spec.src))
        self.preview_label.setText(
            f"→ {where}\nSub-folders under {spec.src} are kept; photos done "
            "before with the same settings are skipped."
        )
        if spec.is_the_commands():
            self.sliders_label.setText(
                "Resumable: this command continues the batch, and this dialog continues a "
                "batch the command started:"
            )
        else:
            self.sliders_label.setText(
                "Each photo's own slider settings are applied. The batch command applies none, so "
                "it would redo these photos rather than resume them; with neutral sliders this "
                "batch is the command's:"
            )
        self.command_label.setText(spec.command())

    def _browse(self) -> None:
        start = self.folder_edit.text() or str(self._sources[0].parent)
        folder = QFileDialog.getExistingDirectory(self, "Output folder", start)
        if folder:
            self.folder_edit.setText(folder)
