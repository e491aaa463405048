"""Writing the catalog: procedures created as drafts, edited, published, piloted and retired,
every change audited. Its API is ``backend.catalog.routes.admin``."""
