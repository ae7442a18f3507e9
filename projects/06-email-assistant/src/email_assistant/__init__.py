"""Project 06: an email assistant that triages, looks things up, drafts, and waits for a person."""
