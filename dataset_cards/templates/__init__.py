"""Card templates (Markdown with ``${section}`` placeholders), a package so the wheel ships them as package data."""
