"""The web app (`typingcure serve`): see app.py."""
