"""The database: schema, migrations and one store module per table family — the only place that writes SQL."""
