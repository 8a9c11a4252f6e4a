"""Mail templates: named subject + bodies, system- or team-level, rendered in a sandbox."""
