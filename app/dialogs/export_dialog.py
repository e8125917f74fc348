"""The export dialog: format and quality, scale, destination folder and name pattern.

It shows the file name the first photo will get, and refuses (OK disabled, reason shown) a
pattern that is invalid or would write onto the original photo.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
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

from app.export.export_options import FORMATS, ExportOptions, PatternError, is_original, output_path
from app.icons import icon

SCALES = (1, 2, 4)


class ExportDialog(QDialog):
    def __init__(
        self,
        options: ExportOptions,
        sources: list[Path],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._sources = sources
        count = len(sources)
        self.setWindowTitle("Export" if count == 1 else f"Export all ({count} photos)")
        self.setMinimumWidth(480)
        form = QFormLayout(self)

        self.format_combo = QComboBox(self)
        for fmt in FORMATS:
            self.format_combo.addItem(fmt.label, fmt.key)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(options.format)))
        form.addRow("Format", self.format_combo)

        self.quality_spin = QSpinBox(self)
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(options.quality)
        form.addRow("Quality", self.quality_spin)

        self.scale_combo = QComboBox(self)
        for scale in SCALES:
            self.scale_combo.addItem(f"x{scale}", scale)
        self.scale_combo.setCurrentIndex(max(0, self.scale_combo.findData(options.scale)))
        form.addRow("Scale", self.scale_combo)

        self.beside_check = QCheckBox("Next to each original", self)
        self.beside_check.setChecked(not options.folder)
        self.folder_edit = QLineEdit(options.folder, self)
        self.folder_edit.setPlaceholderText("Destination folder")
        browse = QPushButton(icon("folder-outline"), "Browse…", self)
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self._browse_button = browse
        form.addRow("Destination", self.beside_check)
        form.addRow("", folder_row)

        self.pattern_edit = QLineEdit(options.pattern, self)
        self.pattern_edit.setToolTip(
            "Fields: {name} (original name, with its extension when another photo in its "
            "folder shares it: IMG_0001_cr2), {scale}, {format}"
        )
        form.addRow("Name", self.pattern_edit)

        self.preview_label = QLabel(self)
        self.preview_label.setObjectName("dimLabel")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("", self.preview_label)

        form.addRow("", QLabel("The current slider settings are applied.", self))

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

        for signal in (
            self.format_combo.currentIndexChanged,
            self.scale_combo.currentIndexChanged,
            self.beside_check.toggled,
            self.folder_edit.textChanged,
            self.pattern_edit.textChanged,
        ):
            signal.connect(self._update)
        self._update()

    def options(self) -> ExportOptions:
        return ExportOptions(
            format=str(self.format_combo.currentData()),
            quality=self.quality_spin.value(),
            folder="" if self.beside_check.isChecked() else self.folder_edit.text().strip(),
            pattern=self.pattern_edit.text(),
            scale=int(self.scale_combo.currentData()),
        )

    def problem(self) -> str | None:
        """Why the current choices cannot be exported, or None."""
        options = self.options()
        if not self.beside_check.isChecked() and not options.folder:
            return "Choose a destination folder."
        try:
            targets = [output_path(source, options) for source in self._sources]
        except PatternError as exc:
            return str(exc)
        for source, target in zip(self._sources, targets, strict=True):
            if is_original(target, source):
                return f"This would overwrite the original {source.name}; change the name."
        if len(set(targets)) < len(targets):
            return "Two photos would get the same file name; add {name} to the pattern."
        return None

    def _update(self) -> None:
        fmt = self.options().export_format
        self.quality_spin.setEnabled(fmt.has_quality)
        self.folder_edit.setEnabled(not self.beside_check.isChecked())
        self._browse_button.setEnabled(not self.beside_check.isChecked())
        problem = self.problem()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(problem is None)
        if problem is not None:
            self.preview_label.setText(f"⚠ {problem}")
        elif self._sources:
            self.preview_label.setText(f"→ {output_path(self._sources[0], self.options())}")

    def _browse(self) -> None:
        start = self.folder_edit.text() or (str(self._sources[0].parent) if self._sources else "")
        folder = QFileDialog.getExistingDirectory(self, "Destination folder", start)
        if folder:
            self.folder_edit.setText(folder)
            self.beside_check.setChecked(False)
