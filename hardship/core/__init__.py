"""Core services shared by every domain module: database, errors, audit, jobs, API plumbing."""
