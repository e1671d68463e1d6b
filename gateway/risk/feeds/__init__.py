"""Price feeds: sources (a CSV file drop, an HTTP JSON feed, manual entries through the gateway API), combined by
median behind staleness and jump guards, with alarms, and posted through the gateway's price route."""
