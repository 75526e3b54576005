"""Report sections: one module per section page, each with one entry point, ``build``."""
