"""What every HTTP surface shares: request context, the /v2 error model and guards, paging.

Nothing here needs the running hub (`modelport.hub` does); so every surface may import it."""
