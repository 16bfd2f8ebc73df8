"""One module per OpenIM route group, named as the URL: handlers only."""
