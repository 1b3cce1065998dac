"""The agent33 control plane Django project: settings, URLs, security and shared API pieces."""
