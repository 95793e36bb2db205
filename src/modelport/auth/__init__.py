"""Teams, control-plane API tokens, and who is calling."""
