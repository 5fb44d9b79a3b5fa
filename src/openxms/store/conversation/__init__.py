"""The Sinch Conversation API's store layer."""
