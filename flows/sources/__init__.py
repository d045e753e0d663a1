"""Where the applications table lives: an embedded week-partitioned store, or Snowflake."""
