"""File uploads for bulk imports: the stored upload, the upload pages and the import API.

The import rules themselves live with their domain (``hardship.archives.importer`` for
households); this package keeps what every import shares: the uploaded file, encrypted at rest
until its job has read it, and the HTTP entry points.
"""
