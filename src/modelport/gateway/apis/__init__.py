"""One module per client-facing API: parse and check its requests, render its answers,
stream events and errors in its own shapes. None of them sees an upstream."""
