"""Lists of threads: filtered as you type, each read by its name and status."""
