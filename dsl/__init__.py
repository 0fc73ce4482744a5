"""The .opt language front end: grammar, parser, AST with spans, checking, errors."""
