"""Planning: turning outside problem descriptions (benchmark files, scenarios) into routing problems."""
