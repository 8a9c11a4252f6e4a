"""Each signed-in user's own settings: display name, language, time zone and password."""
