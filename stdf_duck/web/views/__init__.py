"""The dashboard's pages, one module each with `render(filters)` (see stdf_duck.web.PAGES)."""
