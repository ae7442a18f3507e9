"""Cost-optimised translation: two engines, a translation memory, documents as jobs in S3."""
