"""Campaign folders: loading and validation, audience, checks, working folders."""
