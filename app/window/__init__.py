"""The main window's parts: menus and actions, the photo list, jobs and results, export."""
