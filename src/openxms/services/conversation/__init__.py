"""The Sinch Conversation API's services layer."""
