"""Queue wiring, the pipeline job, retention and reconciliation jobs."""
