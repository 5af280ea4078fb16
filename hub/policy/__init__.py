"""Journey policy in plain Python (no Flask, no XML): states and transitions, IDP eligibility, LoA rules."""
