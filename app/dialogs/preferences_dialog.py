"""Preferences: the engine's device, tile size and precision, and the output defaults."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.export.export_options import FORMATS, PatternError, check_pattern
from app.icons import icon
from app.settings import Settings

DEVICE_LABELS = {"auto": "Automatic (GPU if available)", "cpu": "CPU", "cuda": "CUDA GPU"}
PRECISION_LABELS = {
    "auto": "Automatic",
    "fp32": "FP32 (exact, slowest)",
    "fp16": "FP16 (GPU)",
    "bf16": "BF16 (GPU)",
}


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(460)
        self._settings = settings
        layout = QVBoxLayout(self)

        engine_box = QGroupBox("Processing", self)
        engine_form = QFormLayout(engine_box)
        self.device_combo = QComboBox(engine_box)
        for key, label in DEVICE_LABELS.items():
            self.device_combo.addItem(label, key)
        self.device_combo.setCurrentIndex(self.device_combo.findData(settings.device))
        engine_form.addRow("Device", self.device_combo)

        self.tile_auto = QCheckBox("Automatic", engine_box)
        self.tile_spin = QSpinBox(engine_box)
        self.tile_spin.setRange(64, 8192)
        self.tile_spin.setSingleStep(64)
        self.tile_spin.setSuffix(" px")
        self.tile_spin.setValue(settings.tile or 512)
        self.tile_auto.setChecked(settings.tile is None)
        self.tile_auto.toggled.connect(lambda on: self.tile_spin.setEnabled(not on))
        self.tile_spin.setEnabled(settings.tile is not None)
        tile_row = QHBoxLayout()
        tile_row.addWidget(self.tile_auto)
        tile_row.addWidget(self.tile_spin, 1)
        engine_form.addRow("Tile size", tile_row)

        self.precision_combo = QComboBox(engine_box)
        for key, label in PRECISION_LABELS.items():
            self.precision_combo.addItem(label, key)
        self.precision_combo.setCurrentIndex(self.precision_combo.findData(settings.precision))
        engine_form.addRow("Precision", self.precision_combo)
        layout.addWidget(engine_box)

        output_box = QGroupBox("Export defaults", self)
        output_form = QFormLayout(output_box)
        self.format_combo = QComboBox(output_box)
        for fmt in FORMATS:
            self.format_combo.addItem(fmt.label, fmt.key)
        self.format_combo.setCurrentIndex(
            max(0, self.format_combo.findData(settings.output_format))
        )
        output_form.addRow("Format", self.format_combo)
        self.quality_spin = QSpinBox(output_box)
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(settings.jpeg_quality)
        output_form.addRow("JPEG/WebP quality", self.quality_spin)
        self.folder_edit = QLineEdit(settings.output_folder, output_box)
        self.folder_edit.setPlaceholderText("Next to each original")
        browse = QPushButton(icon("folder-outline"), "", output_box)
        browse.setToolTip("Choose a folder")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        output_form.addRow("Folder", folder_row)
        self.pattern_edit = QLineEdit(settings.name_pattern, output_box)
        self.pattern_edit.setToolTip("Fields: {name}, {scale}, {format}")
        output_form.addRow("Name pattern", self.pattern_edit)
        layout.addWidget(output_box)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.pattern_edit.textChanged.connect(self._validate)
        layout.addWidget(self.buttons)
        self._validate()

    def _validate(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            check_pattern(self.pattern_edit.text())
        except PatternError as exc:
            ok.setEnabled(False)
            ok.setToolTip(str(exc))
        else:
            ok.setEnabled(True)
            ok.setToolTip("")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Default export folder", self.folder_edit.text()
        )
        if folder:
            self.folder_edit.setText(folder)

    def result_settings(self) -> Settings:
        """A copy of the settings with this dialog's choices."""
        return replace(
            self._settings,
            device=str(self.device_combo.currentData()),
            tile=None if self.tile_auto.isChecked() else self.tile_spin.value(),
            precision=str(self.precision_combo.currentData()),
            output_format=str(self.format_combo.currentData()),
            jpeg_quality=self.quality_spin.value(),
            output_folder=self.folder_edit.text().strip(),
            name_pattern=self.pattern_edit.text(),
            recent_files=list(self._settings.recent_files),
        )
