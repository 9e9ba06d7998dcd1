"""The event-sourced SaaS example's tests, on the Phyxius pytest plugin."""
