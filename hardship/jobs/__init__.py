"""The records of background jobs and their pages (the runner is :mod:`hardship.core.jobs`)."""
