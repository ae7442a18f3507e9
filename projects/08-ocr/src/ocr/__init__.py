"""Project 08: a monitored OCR service (PP-OCR on Triton)."""
