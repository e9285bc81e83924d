"""The historical-migration Process API: batch migration runs and their records."""
