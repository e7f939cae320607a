"""Front doors: the command line and the HTTP service."""
