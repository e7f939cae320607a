"""Discovery: directly-follows graphs, variants and journey statistics of an event log, and its filters."""
