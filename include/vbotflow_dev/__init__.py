"""Development and demo only: the VBot simulator, the demo CRM, the demo summary. The runtime never imports it."""
