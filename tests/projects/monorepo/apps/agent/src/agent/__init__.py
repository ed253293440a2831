"""The quoting agent of the monorepo."""
