"""What people and programs read: the terminal report and the views of every command, HTML
reports, workbooks, plots, quote files and atomic file writes. Everything here is built from
results and analysis objects, never from a model or a solver."""
