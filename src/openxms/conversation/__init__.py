"""The Sinch Conversation API's pure rules (no I/O), mirroring `sms/`: message shapes and their
validation, rendering to SMS text, `${}` substitution, batch scheduling, receipt payloads."""
