"""The dialogs: About, Preferences, Export and Export all."""
