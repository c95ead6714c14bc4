"""The built-in WeChat sandbox: an emulator of the API we call, and a chat page."""
