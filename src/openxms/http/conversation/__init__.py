"""The Sinch Conversation API's http layer."""
